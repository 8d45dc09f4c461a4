from django import forms

from kpis.defaults import DEFAULT_CATEGORY_WEIGHTS, DEFAULT_OVERRIDE_RULES
from kpis.models import HealthModel, KpiDefinition

CATEGORY_FIELD_PREFIX = "weight_"


def category_field(category: str) -> str:
    return CATEGORY_FIELD_PREFIX + category.lower().replace("/", "_").replace(" ", "_")


class HealthModelForm(forms.Form):
    """Category weights, band thresholds, renewal probabilities and the override rule."""

    healthy_min = forms.FloatField(min_value=1, max_value=100, label="Healthy from score")
    critical_below = forms.FloatField(min_value=1, max_value=99, label="Critical below score")
    missing_data_rule = forms.ChoiceField(choices=HealthModel.MissingData.choices)
    cap_high_impact_critical = forms.BooleanField(
        required=False, label="A high-impact KPI in critical caps the account at risk"
    )
    probability_healthy = forms.FloatField(min_value=0, max_value=1, label="Renewal probability when healthy")
    probability_risk = forms.FloatField(min_value=0, max_value=1, label="… at risk")
    probability_critical = forms.FloatField(min_value=0, max_value=1, label="… critical")

    def __init__(self, *args, categories: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.categories = categories
        for category in categories:
            self.fields[category_field(category)] = forms.FloatField(
                min_value=0, max_value=1000, label=f"Weight of {category}"
            )

    def clean(self):
        cleaned = super().clean()
        critical, healthy = cleaned.get("critical_below"), cleaned.get("healthy_min")
        if critical is not None and healthy is not None and critical >= healthy:
            self.add_error("critical_below", "Must be below the healthy threshold.")
        weights = [cleaned.get(category_field(c)) or 0 for c in self.categories]
        if not any(weights):
            raise forms.ValidationError("At least one category needs a weight above zero.")
        return cleaned

    @staticmethod
    def initial_from(model: HealthModel, categories: list[str]) -> dict:
        probabilities = model.renewal_probabilities
        initial = {
            "healthy_min": model.healthy_min,
            "critical_below": model.critical_below,
            "missing_data_rule": model.missing_data_rule,
            "cap_high_impact_critical": bool(model.override_rules),
            "probability_healthy": probabilities.get("healthy"),
            "probability_risk": probabilities.get("risk"),
            "probability_critical": probabilities.get("critical"),
        }
        for category in categories:
            default = DEFAULT_CATEGORY_WEIGHTS.get(category, 1.0)
            initial[category_field(category)] = model.category_weights.get(category, default)
        return initial

    def model_changes(self) -> dict:
        """The health_model_update() arguments this form stands for."""
        data = self.cleaned_data
        return {
            "category_weights": {c: data[category_field(c)] for c in self.categories},
            "healthy_min": data["healthy_min"],
            "critical_below": data["critical_below"],
            "missing_data_rule": data["missing_data_rule"],
            "override_rules": DEFAULT_OVERRIDE_RULES if data["cap_high_impact_critical"] else [],
            "renewal_probabilities": {
                "healthy": data["probability_healthy"],
                "risk": data["probability_risk"],
                "critical": data["probability_critical"],
            },
        }


class KpiRangeForm(forms.ModelForm):
    """The range's order is the model's constraint: kpi_definition_update refuses a range out of
    order with its message, which the view puts on this form."""

    class Meta:
        model = KpiDefinition
        fields = ["weight", "impact", "worst", "critical", "healthy", "best", "active"]


class AccountNoteForm(forms.Form):
    body = forms.CharField(
        label="Add a note",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Call notes, a decision, what to watch…"}),
    )
