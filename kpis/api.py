"""Accounts, KPI series, health history, insights and the portfolio over the API."""

import datetime as dt

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api.base import TenantApiView, TenantViewSet
from kpis.models import Account, Band, HealthSnapshot, Insight, KpiDefinition
from kpis.selectors import (
    SORTS,
    AccountFilters,
    account_filters,
    account_health_history,
    account_kpi_series,
    accounts_filtered,
    health_model_current,
    portfolio,
)


class AccountSerializer(serializers.ModelSerializer):
    score = serializers.FloatField(read_only=True, allow_null=True, help_text="Latest health score, 0–100.")
    band = serializers.CharField(read_only=True, allow_null=True)
    change = serializers.FloatField(read_only=True, allow_null=True, help_text="Points vs the month before.")
    slope_3m = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Points per month over 3 months."
    )
    latest_period = serializers.DateField(read_only=True, allow_null=True)

    class Meta:
        model = Account
        fields = ["id", "external_id", "name", "revenue", "industry", "region", "status", "renewal_date", "owner",
                  "score", "band", "change", "slope_3m", "latest_period", "created_at", "updated_at"]  # fmt: skip


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
        fields = ["period", "model_version", "score", "band", "category_scores", "coverage", "explanation"]


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
        ]


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
    retrieve=extend_schema(summary="One account with its latest health"),
)
class AccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    serializer_class = AccountSerializer

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
        summary="Insights generated from the data, newest first",
        parameters=[
            OpenApiParameter("rule", str, enum=Insight.Rule.values),
            OpenApiParameter("severity", str, enum=Insight.Severity.values),
            OpenApiParameter("account", int),
        ],
    )
)
class InsightViewSet(mixins.ListModelMixin, TenantViewSet):
    serializer_class = InsightSerializer

    def get_queryset(self):
        account = self.request.query_params.get("account", "")
        if account and not account.isdigit():
            raise ValidationError({"account": ["Give an account id (a whole number)."]})
        insights = Insight.objects.select_related("account").order_by("-period", "-created_at", "-pk")
        for name in ("rule", "severity", "account"):
            if self.request.query_params.get(name):
                insights = insights.filter(**{name: self.request.query_params[name]})
        return insights


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
