"""Accounts, KPI series, health history, insights and the portfolio over the API."""

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.reverse import reverse

from api.base import TenantApiView, TenantViewSet
from kpis.models import Account, Band, HealthSnapshot, Insight, KpiDefinition, LearnedModel
from kpis.selectors import (
    INSIGHT_STATUSES,
    SORTS,
    AccountFilters,
    account_filters,
    account_health_history,
    account_kpi_series,
    accounts_filtered,
    health_model_current,
    insight_filters,
    insights_filtered,
    kpi_catalog,
    learned_model_latest,
    portfolio,
    report_cards,
)
from kpis.services import (
    ActivationRefused,
    insight_triage_apply,
    learned_model_activate,
    learned_model_request,
)
from tenants.models import ApiKey


class AccountSerializer(serializers.ModelSerializer):
    score = serializers.FloatField(read_only=True, allow_null=True, help_text="Latest health score, 0–100.")
    band = serializers.CharField(read_only=True, allow_null=True)
    change = serializers.FloatField(read_only=True, allow_null=True, help_text="Points vs the month before.")
    slope_3m = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Points per month over 3 months."
    )
    latest_period = serializers.DateField(read_only=True, allow_null=True)
    insufficient_data = serializers.SerializerMethodField(
        help_text="The latest score rests on less than half the model's weight: read it as "
        "'insufficient data', not as its band."
    )

    class Meta:
        model = Account
        fields = ["id", "external_id", "name", "revenue", "industry", "region", "status", "renewal_date", "owner",
                  "score", "band", "insufficient_data", "change", "slope_3m", "latest_period", "created_at",
                  "updated_at"]  # fmt: skip

    def get_insufficient_data(self, account) -> bool:
        return bool(account.insufficient_data)


class AccountDetailSerializer(AccountSerializer):
    churn_probability = serializers.SerializerMethodField(
        help_text="Chance the account churns at its renewal, when a proven learned model is the live score."
    )
    churn_drivers = serializers.SerializerMethodField(
        help_text="The features moving that chance most, in percentage points (positive raises it)."
    )

    class Meta(AccountSerializer.Meta):
        fields = [*AccountSerializer.Meta.fields, "churn_probability", "churn_drivers"]

    def _learned(self, account) -> dict:
        """The latest snapshot's churn figures under the live version (empty under the rules)."""
        if not health_model_current().learned_model_id:
            return {}
        latest = (
            account.snapshots.filter(model_version=health_model_current().version).order_by("-period").first()
        )
        return latest.explanation if latest else {}

    def get_churn_probability(self, account) -> float | None:
        return self._learned(account).get("churn_probability")

    def get_churn_drivers(self, account) -> list[dict] | None:
        return self._learned(account).get("churn_drivers")


class KpiSeriesSerializer(serializers.Serializer):
    class Point(serializers.Serializer):
        period = serializers.DateField()
        value = serializers.FloatField()

    class Kpi(serializers.ModelSerializer):
        class Meta:
            model = KpiDefinition
            fields = ["key", "name", "category", "unit", "direction", "impact", "weight", "worst", "critical",
                      "healthy", "best"]  # fmt: skip

    kpi = Kpi()
    points = Point(many=True)


class SnapshotSerializer(serializers.ModelSerializer):
    class Meta:
        model = HealthSnapshot
        fields = [
            "period",
            "model_version",
            "score",
            "band",
            "insufficient_data",
            "category_scores",
            "coverage",
            "explanation",
        ]


class InsightSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)

    class Meta:
        model = Insight
        fields = [
            "id",
            "account",
            "account_name",
            "rule",
            "period",
            "severity",
            "title",
            "detail",
            "data",
            "created_at",
            "kind",
            "status",
            "acknowledged_at",
            "acknowledged_by",
            "snoozed_until",
            "assigned_to",
        ]

    kind = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    def get_kind(self, insight: Insight) -> str:
        return "suggestion" if insight.is_suggestion else "problem"

    def get_status(self, insight: Insight) -> str:
        return insight.status_on(dt.date.today())


class InsightTriageSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["open", "acknowledged"],
        required=False,
        help_text="acknowledged: handled, out of the open lists; open: back in them (clears a snooze too).",
    )
    snoozed_until = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Out of the open lists until this date; null ends a snooze.",
    )
    assigned_to = serializers.CharField(
        required=False, allow_null=True, help_text="A teammate's username; null: nobody."
    )


ACCOUNT_FILTERS = [
    OpenApiParameter("q", str, description="Search in name and external id."),
    OpenApiParameter("band", str, enum=Band.values),
    OpenApiParameter("industry", str),
    OpenApiParameter("region", str),
    OpenApiParameter("owner", str),
    OpenApiParameter(
        "renewal_within_days", int, description="Renewing between today and N days from now (0–3650)."
    ),
    OpenApiParameter("ordering", str, enum=sorted(SORTS)),
]


def period_param(params, name: str) -> dt.date | None:
    text = params.get(name)
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text + "-01" if len(text) == 7 else text)
    except ValueError as error:
        raise ValidationError({name: ["Use YYYY-MM or YYYY-MM-DD."]}) from error


@extend_schema(tags=["accounts"])
@extend_schema_view(
    list=extend_schema(summary="Accounts with their latest health", parameters=ACCOUNT_FILTERS),
    retrieve=extend_schema(
        summary="One account with its latest health (and churn probability under a learned model)"
    ),
)
class AccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    serializer_class = AccountSerializer

    def get_serializer_class(self):
        return AccountDetailSerializer if self.action == "retrieve" else AccountSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no key
            return Account.objects.none()
        version = health_model_current().version
        if self.action == "list":
            return accounts_filtered(version, account_filters(self.request.query_params))
        return accounts_filtered(version, AccountFilters())

    @extend_schema(
        summary="The account's monthly KPI values with each KPI's reference range",
        parameters=[OpenApiParameter("from", str, description="YYYY-MM"), OpenApiParameter("to", str)],
        responses=KpiSeriesSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def kpis(self, request, pk=None):
        start, end = period_param(request.query_params, "from"), period_param(request.query_params, "to")
        series = account_kpi_series(self.get_object(), start, end)
        return Response(KpiSeriesSerializer(series, many=True).data)

    @extend_schema(
        summary="Health history with the explanation of every month", responses=SnapshotSerializer(many=True)
    )
    @action(detail=True, methods=["get"])
    def health(self, request, pk=None):
        history = account_health_history(self.get_object(), health_model_current().version)
        return Response(SnapshotSerializer(history, many=True).data)


@extend_schema(tags=["insights"])
@extend_schema_view(
    list=extend_schema(
        summary="Insights generated from the data: critical first, then warnings, then information",
        parameters=[
            OpenApiParameter("status", str, enum=list(INSIGHT_STATUSES), description="Default: all."),
            OpenApiParameter("kind", str, enum=["problems", "suggestions"]),
            OpenApiParameter("rule", str, enum=Insight.Rule.values),
            OpenApiParameter("severity", str, enum=Insight.Severity.values),
            OpenApiParameter("account", int),
            OpenApiParameter("assigned_to", str, description="A teammate's username."),
        ],
    ),
    partial_update=extend_schema(
        summary="Triage an insight: acknowledge, reopen, snooze until a date, assign to a teammate",
        request=InsightTriageSerializer,
        responses=InsightSerializer,
    ),
)
class InsightViewSet(mixins.ListModelMixin, TenantViewSet):
    serializer_class = InsightSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        if self.action == "partial_update":
            return Insight.objects.all()
        return insights_filtered(insight_filters(self.request.query_params))

    def partial_update(self, request, pk=None):
        insight = self.get_object()
        triage = InsightTriageSerializer(data=request.data)
        triage.is_valid(raise_exception=True)
        insight_triage_apply(insight=insight, changes=triage.validated_data, by=f"api:{request.auth.prefix}")
        return Response(InsightSerializer(insight).data)


class KpiCatalogEntrySerializer(serializers.Serializer):
    key = serializers.CharField(help_text="What an upload's kpi column may hold (or the name, in any case).")
    name = serializers.CharField(help_text="The display name; an upload may use it in place of the key.")
    category = serializers.CharField()
    unit = serializers.CharField()
    direction = serializers.CharField(help_text="higher or lower: which way is better.")
    min_value = serializers.FloatField(help_text="The lowest value an upload may give.")
    max_value = serializers.FloatField(help_text="The highest value an upload may give.")


class KpiCatalogApi(TenantApiView):
    @extend_schema(
        summary="Every active KPI with its key, name, unit and range: what a KPI upload may name",
        responses=KpiCatalogEntrySerializer(many=True),
    )
    def get(self, request):
        return Response({"results": KpiCatalogEntrySerializer(kpi_catalog(), many=True).data})


class PortfolioApi(TenantApiView):
    @extend_schema(
        summary="Band distribution, 12-month trend, revenue projections and forecast",
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        data = portfolio(health_model_current().version)
        account = AccountSerializer  # the attention lists use the list's shape
        return Response(
            {
                "distribution": data["distribution"],
                "accounts_scored": data["accounts_scored"],
                "trend": data["trend"],
                "money": data["money"],
                "worst": account(data["worst"], many=True).data,
                "falling": account(data["falling"], many=True).data,
            }
        )


# --- report cards and the learned churn model ---------------------------------------------------


class LearnedModelSerializer(serializers.ModelSerializer):
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = LearnedModel
        fields = ["id", "status", "proven", "verdict", "requested_by", "compared_with_version", "report_card",
                  "rules_report_card", "created_at", "finished_at", "status_url"]  # fmt: skip

    def get_status_url(self, learned) -> str:
        return reverse("api-learned-model", args=[learned.pk], request=self.context.get("request"))


class VersionCardSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    method = serializers.CharField(
        help_text="rules, or learned when a learned model is this version's score."
    )
    learned_model = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    card = serializers.JSONField(allow_null=True, help_text="null until the backtest has run.")
    computed_at = serializers.DateTimeField(allow_null=True)


class ReportCardsSerializer(serializers.Serializer):
    current = VersionCardSerializer(allow_null=True)
    previous = VersionCardSerializer(allow_null=True)
    learned_model = LearnedModelSerializer(allow_null=True)


class ActivateSerializer(serializers.Serializer):
    id = serializers.UUIDField(
        required=False, help_text="The learned model to switch to; the latest when left out."
    )


class ActivationRefusedError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "activation_refused"


@extend_schema(tags=["health"])
class ReportCardApi(TenantApiView):
    @extend_schema(
        summary="Report cards: the backtest of the current and previous health model versions, and the latest learned model",
        responses=ReportCardsSerializer,
    )
    def get(self, request):
        return Response(ReportCardsSerializer(report_cards(), context={"request": request}).data)


@extend_schema(tags=["health"])
class LearnedModelTrainApi(TenantApiView):
    required_scope = ApiKey.Scope.ADMIN

    @extend_schema(
        summary="Train the learned churn model in the background; poll status_url",
        request=None,
        responses={202: LearnedModelSerializer},
    )
    def post(self, request):
        learned = learned_model_request(requested_by=f"api:{request.auth.prefix}")
        body = LearnedModelSerializer(learned, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["health"])
class LearnedModelApi(TenantApiView):
    @extend_schema(summary="A training's status, verdict and report cards", responses=LearnedModelSerializer)
    def get(self, request, pk):
        return Response(LearnedModelSerializer(learned_model_of(pk), context={"request": request}).data)


@extend_schema(tags=["health"])
class LearnedModelActivateApi(TenantApiView):
    required_scope = ApiKey.Scope.ADMIN

    @extend_schema(
        summary="Make a proven learned model the live score (a new health model version, backfilled)",
        description="Refused with 409 `activation_refused` and the reason unless the model is proven and beats "
        "the rules on AUC and critical-band lift on the same folds.",
        request=ActivateSerializer,
        responses={201: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        form = ActivateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        chosen = form.validated_data.get("id")
        learned = learned_model_of(chosen) if chosen else learned_model_latest()
        if learned is None:
            raise ActivationRefusedError("There is no learned model yet; train one first.")
        try:
            model = learned_model_activate(learned_model=learned, created_by=f"api:{request.auth.prefix}")
        except ActivationRefused as refused:
            raise ActivationRefusedError(" ".join(refused.messages)) from refused
        return Response(
            {"version": model.version, "learned_model": str(learned.pk)}, status=status.HTTP_201_CREATED
        )


def learned_model_of(pk) -> LearnedModel:
    try:
        return LearnedModel.objects.get(pk=pk)
    except (LearnedModel.DoesNotExist, DjangoValidationError) as missing:  # not a UUID: no such model
        raise Http404("No learned model with this id in this workspace.") from missing
