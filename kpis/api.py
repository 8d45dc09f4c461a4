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
from kpis.catalog import DEFAULT_KPIS
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
    peer_benchmark_rows,
    portfolio,
    report_cards,
)
from kpis.services import (
    ActivationRefused,
    account_note_add,
    insight_triage_apply,
    learned_model_activate,
    learned_model_request,
)
from kpis.timeline import MAX_PAGE_SIZE, account_timeline, note_event
from tenants.models import ApiKey
from users.audit import api_actor


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
        fields = [
            "id",
            "external_id",
            "name",
            "revenue",
            "industry",
            "region",
            "status",
            "renewal_date",
            "owner",
            "score",
            "band",
            "insufficient_data",
            "change",
            "slope_3m",
            "latest_period",
            "created_at",
            "updated_at",
        ]

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
            fields = [
                "key",
                "name",
                "category",
                "unit",
                "direction",
                "impact",
                "weight",
                "worst",
                "critical",
                "healthy",
                "best",
            ]

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
    OpenApiParameter(
        "owner",
        str,
        description="An owner as written, or a teammate's username or e-mail: then the accounts whose owner "
        "is that teammate's username, e-mail or full name.",
    ),
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


class TimelineEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField(
        help_text="note, health, insight, playbook_started, playbook_step, playbook_ended or upload"
    )
    title = serializers.CharField()
    detail = serializers.CharField()
    actor = serializers.CharField(
        help_text="Who did it, when someone did: a teammate, an API key, a trigger."
    )
    url = serializers.CharField(help_text="The portal page about it, or empty.")


class TimelinePageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = TimelineEventSerializer(many=True)


class TimelineQuerySerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=25)


class AccountNoteSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000, help_text="The note, as plain text.")


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

    @extend_schema(
        methods=["GET"],
        summary="What happened to the account, newest first: notes, health band changes, insights, "
        "playbook starts, steps and completions, uploads",
        parameters=[TimelineQuerySerializer],
        responses=TimelinePageSerializer,
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a note to the account's timeline (write key)",
        request=AccountNoteSerializer,
        responses={201: TimelineEventSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def timeline(self, request, pk=None):
        account = self.get_object()
        if request.method == "POST":
            return self._note_add(request, account)
        query = TimelineQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = account_timeline(account, **query.validated_data)
        return Response(
            {
                "next": self._page_url(request, page, page.page + 1) if page.has_next else None,
                "previous": self._page_url(request, page, page.page - 1) if page.page > 1 else None,
                "results": TimelineEventSerializer(
                    [event._asdict() for event in page.events], many=True
                ).data,
            }
        )

    def _note_add(self, request, account):
        note = AccountNoteSerializer(data=request.data)
        note.is_valid(raise_exception=True)
        added = account_note_add(
            account=account, body=note.validated_data["body"], author=f"API key {request.auth.name}"
        )
        return Response(
            TimelineEventSerializer(note_event(added)._asdict()).data, status=status.HTTP_201_CREATED
        )

    @staticmethod
    def _page_url(request, page, number: int) -> str:
        query = request.query_params.copy()
        query["page"], query["page_size"] = number, page.page_size
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


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


# --- peer benchmarks ------------------------------------------------------------------------------


class PeerBenchmarksQuery(serializers.Serializer):
    industry = serializers.CharField(
        required=False, allow_blank=True, max_length=80, help_text="An industry; empty for all industries."
    )
    kpi = serializers.ChoiceField(
        choices=[k.key for k in DEFAULT_KPIS],
        required=False,
        help_text="A KPI key of the catalog; empty for all.",
    )


class PeerCellSerializer(serializers.Serializer):
    kpi = serializers.CharField()
    status = serializers.ChoiceField(choices=["published", "not_enough_peers"])
    month = serializers.DateField(source="cell.month", allow_null=True, default=None)
    companies = serializers.IntegerField(source="cell.companies", allow_null=True, default=None)
    accounts = serializers.IntegerField(
        source="cell.accounts", allow_null=True, default=None, help_text="Rounded to the nearest 10."
    )
    p25 = serializers.FloatField(source="cell.p25", allow_null=True, default=None)
    median = serializers.FloatField(source="cell.median", allow_null=True, default=None)
    p75 = serializers.FloatField(source="cell.p75", allow_null=True, default=None)
    step = serializers.FloatField(
        source="cell.step", allow_null=True, default=None, help_text="The quartiles are rounded to this step."
    )


PEERS_OFF = (
    "Peer benchmarks are shown only to workspaces that share their own aggregates. "
    "A workspace admin can opt in under Settings → Peer benchmarks."
)


class PeerBenchmarksApi(TenantApiView):
    @extend_schema(
        summary="Peer quartiles per KPI in an industry, across the companies that opted in",
        parameters=[PeerBenchmarksQuery],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        if not request.tenant.peer_benchmarks:
            raise exceptions.PermissionDenied(PEERS_OFF, code="peer_benchmarks_off")
        query = PeerBenchmarksQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        kpis = (
            [query.validated_data["kpi"]] if "kpi" in query.validated_data else [k.key for k in DEFAULT_KPIS]
        )
        found = peer_benchmark_rows(industry=query.validated_data.get("industry", ""), kpi_keys=kpis)
        rows = [
            {**row, "status": "published" if row["cell"] else "not_enough_peers"} for row in found["rows"]
        ]
        return Response({"industry": found["industry"], "results": PeerCellSerializer(rows, many=True).data})


# --- report cards and the learned churn model ---------------------------------------------------


class LearnedModelSerializer(serializers.ModelSerializer):
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = LearnedModel
        fields = [
            "id",
            "status",
            "proven",
            "verdict",
            "requested_by",
            "compared_with_version",
            "report_card",
            "rules_report_card",
            "created_at",
            "finished_at",
            "status_url",
        ]

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
            model = learned_model_activate(
                learned_model=learned,
                created_by=api_actor(request.auth.prefix),
                actor=api_actor(request.auth.prefix),
            )
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
