"""Portal and admin forms for playbooks and triggers. They only collect input: the rules
live in playbooks.services (and playbooks.schemas), whose problems come back keyed by
field path and are placed next to the form field they concern."""

from collections.abc import Callable

from django import forms
from django.core.exceptions import ValidationError

from kpis.models import KpiDefinition
from playbooks.models import Playbook, Trigger
from playbooks.schemas import BANDS, CONDITIONS, INSIGHT_RULES, tidy
from playbooks.services import (
    CALM_FIELDS,
    HOLDOUT_FIELDS,
    PLAYBOOK_EDITABLE,
    TRIGGER_EDITABLE,
    exit_criteria_validate,
    trigger_validate,
)

CONDITION_LABELS = {
    "band_in": "Health band is one of",
    "score_drop": "Health score dropped",
    "kpi_below": "A KPI is below",
    "kpi_above": "A KPI is above",
    "renewal_within": "Renewal is within",
    "insight": "An insight was raised",
}
# What a trigger does, beside its condition.
SETTINGS = ("action", "cooldown_days", "enabled", *CALM_FIELDS, *HOLDOUT_FIELDS)
DEFAULT_MAX_STARTS = Trigger.max_starts_per_evaluation.field.default


def add_problems(form: forms.BaseForm, error: ValidationError, field_of: Callable[[str], str | None]) -> None:
    """Each problem of a service's refusal next to the field it concerns. When that field
    holds a JSON document (the admin's condition), the path says where inside it."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for path, messages in error.message_dict.items():
        field = field_of(path)
        inside = field is not None and path.startswith((f"{field}.", f"{field}["))
        for message in messages:
            form.add_error(field, f"{path}: {message}" if inside or field is None else message)


class TriggerForm(forms.Form):
    """A trigger's rule in plain fields; the condition type picks which of them it uses."""

    type = forms.ChoiceField(label="When", choices=CONDITION_LABELS.items())
    bands = forms.MultipleChoiceField(
        required=False,
        choices=[(band, band.title()) for band in BANDS],
        widget=forms.CheckboxSelectMultiple,
        help_text="For “health band is one of”.",
    )
    points = forms.FloatField(required=False, help_text="For “health score dropped”: points lost.")
    months = forms.IntegerField(
        required=False, help_text="For “health score dropped”: over how many months (1 to 3; 1 when empty)."
    )
    kpi = forms.ModelChoiceField(
        queryset=KpiDefinition.objects.order_by("name"),
        to_field_name="key",
        required=False,
        empty_label="—",
        label="KPI",
        help_text="For “a KPI is below / above”.",
    )
    value = forms.FloatField(required=False, help_text="For “a KPI is below / above”: the threshold.")
    days = forms.IntegerField(
        required=False, help_text="For “renewal is within”: days before the renewal date."
    )
    rule = forms.ChoiceField(
        required=False,
        label="Insight",
        choices=[("", "—"), *((rule, rule.replace("_", " ")) for rule in INSIGHT_RULES)],
        help_text="For “an insight was raised”.",
    )
    action = forms.ChoiceField(label="Then", choices=Trigger.Action.choices)
    cooldown_days = forms.IntegerField(
        label="Cooldown (days)",
        help_text="How long after firing for an account it waits before firing again.",
    )
    enabled = forms.BooleanField(required=False, initial=True)
    fallback_owner = forms.CharField(
        required=False,
        max_length=150,
        label="Owner when the account has none",
        help_text=Trigger.fallback_owner.field.help_text,
    )
    max_starts_per_evaluation = forms.IntegerField(
        required=False,
        label="Most runs started at once",
        initial=DEFAULT_MAX_STARTS,
        help_text=Trigger.max_starts_per_evaluation.field.help_text,
    )
    holdout_share = forms.FloatField(
        required=False,
        label="Hold out (share)",
        initial=0,
        help_text="0 to 0.5: that share of the accounts it fires for gets no run, drawn once per account, "
        "so the playbook's effect can be measured against them. 0 holds none out.",
    )
    holdout_delay_days = forms.IntegerField(
        required=False,
        label="Held-out accounts run after (days)",
        initial=0,
        help_text="0 or empty: held-out accounts never get a run.",
    )
    holdout_reason = forms.CharField(required=False, max_length=300, label="Why hold out")
    holdout_critical_renewals = forms.BooleanField(
        required=False,
        label="Also hold out critical accounts renewing within 30 days",
        help_text="Off: those always get the run.",
    )

    @staticmethod
    def initial_from(trigger: Trigger) -> dict:
        # A condition saved before validation may be anything; show what can be shown.
        condition = trigger.condition if isinstance(trigger.condition, dict) else {}
        return {**condition, **{name: getattr(trigger, name) for name in SETTINGS}}

    def changes(self) -> dict:
        """The trigger_create/trigger_update arguments this form stands for."""
        data = self.cleaned_data
        used = {name: data.get(name) for name in CONDITIONS[data["type"]].fields}
        if used.get("kpi") is not None:
            used["kpi"] = used["kpi"].key
        condition = {
            "type": data["type"],
            **{k: tidy(v) for k, v in used.items() if v not in (None, "", [])},
        }
        return {"condition": condition, **setting_defaults({name: data[name] for name in SETTINGS})}

    def field_of(self, path: str) -> str | None:
        """condition.bands → bands; a problem with the condition as a whole → its type."""
        if path == "condition":
            return "type"
        name = path.removeprefix("condition.")
        return name if name in self.fields else None


def setting_defaults(values: dict) -> dict:
    """An empty share or delay holds none out / never runs them: the fields' zero. An empty
    limit of runs started at once is the usual one."""
    zeros = {name: values.get(name) or 0 for name in ("holdout_share", "holdout_delay_days")}
    limit = values.get("max_starts_per_evaluation")
    return {**values, **zeros, "max_starts_per_evaluation": DEFAULT_MAX_STARTS if limit is None else limit}


class PlaybookAdminForm(forms.ModelForm):
    class Meta:
        model = Playbook
        fields = PLAYBOOK_EDITABLE

    def clean(self):
        cleaned = super().clean()
        if "exit_criteria" in cleaned:
            try:
                exit_criteria_validate(cleaned["exit_criteria"])
            except ValidationError as error:
                add_problems(self, error, lambda _path: "exit_criteria")
        return cleaned


class TriggerAdminForm(forms.ModelForm):
    holdout_share = forms.FloatField(
        required=False, initial=0, help_text=Trigger.holdout_share.field.help_text
    )
    holdout_delay_days = forms.IntegerField(
        required=False, initial=0, help_text=Trigger.holdout_delay_days.field.help_text
    )
    max_starts_per_evaluation = forms.IntegerField(
        required=False,
        initial=DEFAULT_MAX_STARTS,
        help_text=Trigger.max_starts_per_evaluation.field.help_text,
    )

    class Meta:
        model = Trigger
        fields = TRIGGER_EDITABLE

    def clean(self):
        cleaned = setting_defaults(super().clean())
        if self.errors:  # e.g. a condition that is not JSON: say that first
            return cleaned
        trigger = self.instance if self.instance.pk else None  # as saved, before this form's changes
        try:
            trigger_validate(trigger=trigger, **{name: cleaned[name] for name in TRIGGER_EDITABLE})
        except ValidationError as error:
            add_problems(self, error, _admin_field)
        return cleaned


def _admin_field(path: str) -> str | None:
    field = path.split(".")[0]
    return field if field in TRIGGER_EDITABLE else None
