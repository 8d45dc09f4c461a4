"""Reads about accounts and health. Aggregates run in SQL; pages stay a fixed number of
queries however many accounts a tenant has."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import OrderBy
from django.utils import timezone

from kpis import catalog
from kpis.backtest import Dataset, Renewal, Thresholds, dataset_build
from kpis.churn import FeatureSpace, History
from kpis.models import (
    MIN_COVERAGE,
    SUGGESTION_RULES,
    Account,
    Band,
    BestPractice,
    FinancialProjection,
    HealthModel,
    HealthSnapshot,
    IndustryBenchmark,
    Insight,
    KpiDefinition,
    KpiValue,
    LearnedModel,
    RenewalOutcome,
    ReportCard,
)
from kpis.projections import portfolio_forecast
from kpis.scoring import KpiRule, ModelRules, Scorer, slope
from peers.models import ALL_INDUSTRIES
from peers.publication import MIN_ACCOUNTS, MIN_TENANT_ACCOUNTS, QUANTILE_LEVELS, TenantAggregate
from peers.selectors import peer_cells_latest
from tenants.models import Tenant
from users.models import User

if TYPE_CHECKING:  # django-stubs-ext is a development tool, not installed in production
    from django_stubs_ext import WithAnnotations

    class HealthAnnotations(TypedDict):
        score: float | None
        band: str | None
        latest_period: dt.date | None
        previous_score: float | None
        score_two_months_ago: float | None
        coverage: float | None
        insufficient_data: bool | None
        change: float | None
        slope_3m: float | None

    AccountWithHealth = WithAnnotations[Account, HealthAnnotations]


def health_models_switched():
    """The versions whose backfill has finished: the only ones readers may use."""
    return HealthModel.objects.filter(backfilling=False)


def health_model_current() -> HealthModel:
    """The version readers see: the newest whose backfill has finished (v1 is bootstrapped in
    every tenant schema), so no reader meets a half-recomputed version."""
    return health_models_switched().latest("version")


def health_model_newest() -> HealthModel:
    """The newest version, backfilled or not: what the next change builds on."""
    return HealthModel.objects.latest("version")


def health_models_backfilling() -> list[HealthModel]:
    """Versions newer than the current one whose backfill is still running."""
    return list(HealthModel.objects.filter(backfilling=True, version__gt=health_model_current().version))


def model_rules(model: HealthModel) -> ModelRules:
    return ModelRules(
        category_weights=model.category_weights,
        healthy_min=model.healthy_min,
        critical_below=model.critical_below,
        missing_data_rule=model.missing_data_rule,
        override_rules=tuple(model.override_rules),
    )


def kpi_catalog() -> list[dict]:
    """The active KPIs as an upload names them: key, display name, unit and the range a value
    must lie in, by category then name."""
    fields = ("key", "name", "category", "unit", "direction", "min_value", "max_value", "healthy")
    return list(KpiDefinition.objects.filter(active=True).order_by("category", "name").values(*fields))


def kpi_rules() -> list[KpiRule]:
    fields = ["key", "category", "direction", "impact", "weight", "worst", "critical", "healthy", "best"]
    return [KpiRule(**row) for row in KpiDefinition.objects.filter(active=True).values(*fields)]


def _latest_snapshot(version: int, field: str, offset: int = 0):
    """Subquery: `field` of an account's latest (offset 0) or previous (1) snapshot."""
    snapshots = HealthSnapshot.objects.filter(account=OuterRef("pk"), model_version=version).order_by(
        "-period"
    )
    return Subquery(snapshots.values(field)[offset : offset + 1])


def accounts_with_health(version: int) -> QuerySet[AccountWithHealth]:
    """Accounts annotated with latest score, band, period and coverage (insufficient_data when it
    is below MIN_COVERAGE), the change vs the month before and the 3-month slope (least squares
    over three monthly points = (last − first) / 2)."""
    return Account.objects.annotate(
        score=_latest_snapshot(version, "score"),
        band=_latest_snapshot(version, "band"),
        latest_period=_latest_snapshot(version, "period"),
        coverage=_latest_snapshot(version, "coverage"),
        previous_score=_latest_snapshot(version, "score", offset=1),
        score_two_months_ago=_latest_snapshot(version, "score", offset=2),
    ).annotate(
        change=F("score") - F("previous_score"),
        slope_3m=(F("score") - F("score_two_months_ago")) / 2,
        insufficient_data=ExpressionWrapper(Q(coverage__lt=MIN_COVERAGE), output_field=BooleanField()),
    )


SORTS: dict[str, str | OrderBy] = {
    "name": "name",
    "-name": "-name",
    "score": F("score").asc(nulls_last=True),
    "-score": F("score").desc(nulls_last=True),
    "revenue": "revenue",
    "-revenue": "-revenue",
    "renewal": F("renewal_date").asc(nulls_last=True),
    "change": F("change").asc(nulls_last=True),
}


@dataclass(frozen=True)
class AccountFilters:
    q: str = ""
    band: str = ""
    industry: str = ""
    region: str = ""
    owner: str = ""
    renewal_within_days: int | None = None
    sort: str = "name"


MAX_RENEWAL_WINDOW_DAYS = 3650


def account_filters(params) -> AccountFilters:
    """The filters of the accounts page and GET /api/v1/accounts/ from their query parameters;
    ValidationError naming the parameter when one cannot be used."""
    days = params.get("renewal_within_days")
    if days not in (None, "") and not (str(days).isdigit() and int(days) <= MAX_RENEWAL_WINDOW_DAYS):
        raise ValidationError(
            {"renewal_within_days": ["Give a whole number of days from 0 to 3650, e.g. 90."]}
        )
    return AccountFilters(
        q=params.get("q", ""),
        band=params.get("band", ""),
        industry=params.get("industry", ""),
        region=params.get("region", ""),
        owner=params.get("owner", ""),
        renewal_within_days=int(days) if days not in (None, "") else None,
        sort=params.get("ordering", "name"),
    )


# --- Insights ------------------------------------------------------------------------------------

INSIGHT_STATUSES = ("open", "acknowledged", "snoozed", "all")
INSIGHT_KINDS = {"problems": False, "suggestions": True}


@dataclass(frozen=True)
class InsightFilters:
    status: str = "all"
    kind: str = ""
    severity: str = ""
    rule: str = ""
    account: int | None = None
    assigned_to: str = ""


def insight_filters(params, *, default_status: str = "all") -> InsightFilters:
    """The filters of the insights page and GET /api/v1/insights/; ValidationError naming the
    parameter when one cannot be used."""
    checks = {
        "status": (INSIGHT_STATUSES, "Give one of: open, acknowledged, snoozed, all."),
        "kind": (tuple(INSIGHT_KINDS), "Give problems or suggestions."),
        "severity": (tuple(Insight.Severity.values), "Give one of: critical, warning, info."),
        "rule": (tuple(Insight.Rule.values), f"Give one of: {', '.join(Insight.Rule.values)}."),
    }
    for name, (allowed, message) in checks.items():
        if params.get(name) and params[name] not in allowed:
            raise ValidationError({name: [message]})
    account = params.get("account", "")
    if account and not str(account).isdigit():
        raise ValidationError({"account": ["Give an account id (a whole number)."]})
    return InsightFilters(
        status=params.get("status") or default_status,
        kind=params.get("kind", ""),
        severity=params.get("severity", ""),
        rule=params.get("rule", ""),
        account=int(account) if account else None,
        assigned_to=params.get("assigned_to", ""),
    )


def insights_triaged(insights: QuerySet[Insight] | None = None) -> QuerySet[Insight]:
    """Critical first, then warnings, then information; the newest first within each."""
    severity_rank = Case(
        When(severity=Insight.Severity.CRITICAL, then=Value(0)),
        When(severity=Insight.Severity.WARNING, then=Value(1)),
        default=Value(2),
    )
    insights = Insight.objects.all() if insights is None else insights
    return (
        insights.select_related("account")
        .annotate(severity_rank=severity_rank)
        .order_by("severity_rank", "-period", "-created_at", "-pk")
    )


def insights_open(insights: QuerySet[Insight], today: dt.date | None = None) -> QuerySet[Insight]:
    """Neither acknowledged nor snoozed past `today`."""
    today = today or timezone.localdate()
    return insights.filter(acknowledged_at__isnull=True).filter(
        Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=today)
    )


def insights_filtered(filters: InsightFilters, today: dt.date | None = None) -> QuerySet[Insight]:
    today = today or timezone.localdate()
    insights = insights_triaged()
    if filters.status == "open":
        insights = insights_open(insights, today)
    elif filters.status == "acknowledged":
        insights = insights.filter(acknowledged_at__isnull=False)
    elif filters.status == "snoozed":
        insights = insights.filter(acknowledged_at__isnull=True, snoozed_until__gt=today)
    if filters.kind:
        suggestions = Q(rule__in=SUGGESTION_RULES)
        insights = insights.filter(suggestions if INSIGHT_KINDS[filters.kind] else ~suggestions)
    for name in ("severity", "rule", "account"):
        if getattr(filters, name):
            insights = insights.filter(**{name: getattr(filters, name)})
    if filters.assigned_to:
        insights = insights.filter(assigned_to=filters.assigned_to)
    return insights


def insight_counts(insights: QuerySet[Insight]) -> dict[str, int]:
    """How many of these insights per severity."""
    return dict(insights.order_by().values_list("severity").annotate(n=Count("pk")))


def accounts_filtered(
    version: int, filters: AccountFilters, today: dt.date | None = None
) -> QuerySet[AccountWithHealth]:
    accounts = accounts_with_health(version)
    if filters.q:
        accounts = accounts.filter(Q(name__icontains=filters.q) | Q(external_id__icontains=filters.q))
    for name in ("band", "industry", "region"):
        if getattr(filters, name):
            accounts = accounts.filter(**{name: getattr(filters, name)})
    if filters.owner:
        accounts = accounts.filter(owned_by(filters.owner))
    if filters.renewal_within_days is not None:
        today = today or timezone.localdate()
        window_end = today + dt.timedelta(days=filters.renewal_within_days)
        accounts = accounts.filter(renewal_date__gte=today, renewal_date__lte=window_end)
    return accounts.order_by(SORTS.get(filters.sort, "name"), "pk")


def owned_by(owner: str) -> Q:
    """Accounts whose owner is `owner`. The owner column is free text (files and the API set it),
    so when `owner` names a teammate (username or e-mail) every way of writing that teammate
    counts: username, e-mail address or full name, in any case. Other text matches as typed."""
    teammate = teammate_named(owner)
    names = {owner} | ({teammate.username, teammate.email, teammate.full_name} if teammate else set())
    match = Q()
    for name in names - {""}:
        match |= Q(owner__iexact=name)
    return match


def teammate_named(name: str):
    """The teammate an account's free-text owner names: by username, e-mail address or full
    name, in any case; None when it names nobody in this workspace."""
    name = name.strip()
    if not name:
        return None
    return User.objects.filter(
        Q(username__iexact=name) | Q(email__iexact=name) | Q(full_name__iexact=name)
    ).first()


def filter_choices() -> dict[str, list[str]]:
    """Distinct industries, regions and owners for the filter dropdowns (three queries)."""
    return {
        name: list(
            Account.objects.exclude(**{name: ""}).order_by(name).values_list(name, flat=True).distinct()
        )
        for name in ("industry", "region", "owner")
    }


def portfolio(version: int, months: int = 12) -> dict:
    """The dashboard and /api/v1/portfolio/: distribution, trend, money, attention list."""
    latest = accounts_with_health(version).filter(score__isnull=False)
    # Scored accounts all have a band; the None only says what the annotation's type allows.
    distribution: dict[str | None, int] = {band: 0 for band in Band.values}
    for row in latest.values("band").annotate(count=Count("pk")).order_by():
        distribution[row["band"]] = row["count"]
    return {
        "distribution": distribution,
        "accounts_scored": sum(distribution.values()),
        "trend": portfolio_trend(version, months),
        "money": portfolio_money(version),
        "worst": list(latest.order_by("score", "pk")[:5]),
        "falling": list(latest.filter(change__lt=0).order_by("change", "pk")[:5]),
        "insights": list(insights_open(insights_triaged().exclude(rule__in=SUGGESTION_RULES))[:8]),
        "suggestions": list(insights_open(insights_triaged().filter(rule__in=SUGGESTION_RULES))[:5]),
    }


def portfolio_trend(version: int, months: int = 12) -> dict:
    rows = (
        HealthSnapshot.objects.filter(model_version=version)
        .values("period")
        .annotate(score=Avg("score"), accounts=Count("pk"))
        .order_by("-period")[:months]
    )
    trend = [{"period": r["period"], "score": round(r["score"], 1), "accounts": r["accounts"]} for r in rows][
        ::-1
    ]
    scores = [point["score"] for point in trend]
    return {
        "points": trend,
        "change": round(scores[-1] - scores[-2], 1) if len(scores) > 1 else None,
        "slope_3m": round(slope(scores[-3:]), 2),
    }


def portfolio_money(version: int) -> dict:
    projections = FinancialProjection.objects.filter(model_version=version)
    totals = projections.aggregate(
        arr=Sum("account__revenue"),
        expected=Sum("expected_renewal_revenue"),
        at_risk=Sum("revenue_at_risk", filter=~Q(band=Band.HEALTHY)),
        expansion=Sum("expansion_potential"),
    )
    accounts = {a.pk: a for a in Account.objects.filter(projections__model_version=version)}
    forecast = portfolio_forecast(list(projections), accounts, _next_month(timezone.localdate()))
    return {name: value or Decimal("0") for name, value in totals.items()} | {"forecast": forecast}


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def account_health_history(account: Account, version: int) -> list[HealthSnapshot]:
    return list(account.snapshots.filter(model_version=version).order_by("period"))


def account_kpi_series(
    account: Account, start: dt.date | None = None, end: dt.date | None = None
) -> list[dict]:
    """Each KPI of the catalog with the account's monthly values and its reference range."""
    values = KpiValue.objects.filter(account=account, is_current=True)
    if start:
        values = values.filter(period__gte=start)
    if end:
        values = values.filter(period__lte=end)
    by_kpi = defaultdict(list)
    for kpi_id, period, value in values.order_by("period").values_list("kpi_id", "period", "value"):
        by_kpi[kpi_id].append({"period": period, "value": value})
    return [
        {"kpi": kpi, "points": by_kpi.get(kpi.pk, [])} for kpi in KpiDefinition.objects.filter(active=True)
    ]


def account_benchmarks(account: Account, latest_values: dict[str, float]) -> list[dict]:
    """The shipped industry table (a labelled published reference, never peer data) and the
    tenant's own accounts in that industry, each only when it rests on enough accounts."""
    reference = {
        b.kpi.key: b
        for b in IndustryBenchmark.objects.filter(industry=account.industry).select_related("kpi")
    }
    own = {key: q for key, q in _tenant_quartiles(account.industry).items() if q[3] >= MIN_ACCOUNTS}
    rows = []
    for key, value in latest_values.items():
        if key in reference or key in own:
            ref = reference.get(key)
            quartiles = (ref.p25, ref.median, ref.p75) if ref else None
            rows.append({"kpi": key, "value": value, "reference": quartiles, "own": own.get(key)})
    return rows


def _tenant_quartiles(industry: str) -> dict[str, tuple]:
    sql = """
        SELECT k.key, percentile_cont(0.25) WITHIN GROUP (ORDER BY v.value),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY v.value),
               percentile_cont(0.75) WITHIN GROUP (ORDER BY v.value), count(*)
        FROM kpis_kpivalue v
        JOIN kpis_account a ON a.id = v.account_id
        JOIN kpis_kpidefinition k ON k.id = v.kpi_id
        WHERE v.is_current AND a.industry = %s
          AND v.period = (SELECT max(period) FROM kpis_kpivalue WHERE account_id = v.account_id)
        GROUP BY k.key
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [industry])
        return {key: (p25, p50, p75, n) for key, p25, p50, p75, n in cursor.fetchall()}


def best_practices_for(explanation: dict) -> list[BestPractice]:
    """Advice for every KPI in risk or critical, in that band."""
    wanted = {(k["kpi"], k["band"]) for k in explanation.get("kpis", []) if k["band"] != Band.HEALTHY}
    if not wanted:
        return []
    practices = BestPractice.objects.select_related("kpi").filter(kpi__key__in={key for key, _b in wanted})
    return [p for p in practices if p.kpi and (p.kpi.key, p.band) in wanted]


LATEST_VALUES_SQL = """
    SELECT v.account_id, k.key, v.value FROM kpis_kpivalue v
    JOIN kpis_kpidefinition k ON k.id = v.kpi_id
    JOIN (SELECT account_id, max(period) AS period FROM kpis_kpivalue WHERE is_current GROUP BY account_id) last
      ON last.account_id = v.account_id AND last.period = v.period
    WHERE v.is_current AND k.active
"""


def band_change_preview(current: ModelRules, proposed: ModelRules) -> dict:
    """How many accounts would change band (latest month) if `proposed` replaced `current`."""
    values: defaultdict[int, dict[str, float]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(LATEST_VALUES_SQL)
        for account_id, key, value in cursor.fetchall():
            values[account_id][key] = value
    rules = kpi_rules()
    scorers = Scorer(rules, current), Scorer(rules, proposed)
    moves: defaultdict[str, int] = defaultdict(int)
    for account_values in values.values():
        before, after = (scorer.score(account_values).band for scorer in scorers)
        if before != after:
            moves[f"{before} → {after}"] += 1
    return {"accounts": len(values), "changed": sum(moves.values()), "moves": dict(moves)}


# --- renewals, report cards and the learned model ---------------------------------------------

HISTORY_CHUNK = 1000
HISTORY_SQL = """
    SELECT v.account_id, v.period, k.key, v.value FROM kpis_kpivalue v
    JOIN kpis_kpidefinition k ON k.id = v.kpi_id
    WHERE v.is_current AND k.active AND v.account_id = ANY(%s)
    ORDER BY v.account_id, v.period
"""


def account_histories(account_ids: list[int]) -> Mapping[int, History]:
    """Every account's current monthly KPI values, oldest first, read a chunk of accounts at a time."""
    histories: dict[int, list[tuple[dt.date, dict[str, float]]]] = {}
    for start in range(0, len(account_ids), HISTORY_CHUNK):
        with connection.cursor() as cursor:
            cursor.execute(HISTORY_SQL, [account_ids[start : start + HISTORY_CHUNK]])
            for account_id, period, key, value in cursor.fetchall():
                months = histories.setdefault(account_id, [])
                if not months or months[-1][0] != period:
                    months.append((period, {}))
                months[-1][1][key] = value
    return histories


def renewal_dataset(model: HealthModel) -> Dataset:
    """The tenant's renewals with the rules' score and the learned model's features as they stood
    before each (kpis.backtest)."""
    rows = RenewalOutcome.objects.order_by("renewal_date", "account_id").values_list(
        "account_id", "renewal_date", "outcome", "arr_before"
    )
    renewals = [
        Renewal(a, day, outcome == RenewalOutcome.Outcome.CHURNED, float(arr))
        for a, day, outcome, arr in rows
    ]
    histories = account_histories(sorted({renewal.account_id for renewal in renewals}))
    rules = kpi_rules()
    return dataset_build(renewals, histories, Scorer(rules, model_rules(model)), FeatureSpace(rules))


def model_thresholds(model: HealthModel) -> Thresholds:
    return Thresholds(model.healthy_min, model.critical_below, model.renewal_probabilities)


def learned_model_latest() -> LearnedModel | None:
    return LearnedModel.objects.order_by("-created_at").first()


def report_cards() -> dict:
    """The current and previous versions' report cards and the latest learned model: what
    Settings → Health and GET /api/v1/health/report-card/ show. A version still backfilling is
    not current yet (readers do not use it, and its card comes at the switch)."""
    switched = health_models_switched().select_related("learned_model")
    versions = list(switched.order_by("-version")[:2])
    cards = {
        card.model_version: card
        for card in ReportCard.objects.filter(model_version__in=[v.version for v in versions])
    }
    return {
        "current": _version_card(versions[0], cards) if versions else None,
        "previous": _version_card(versions[1], cards) if len(versions) > 1 else None,
        "learned_model": learned_model_latest(),
    }


def _version_card(model: HealthModel, cards: dict) -> dict:
    card = cards.get(model.version)
    return {
        "version": model.version,
        "method": "learned" if model.learned_model_id else "rules",
        "learned_model": model.learned_model_id,
        "created_at": model.created_at,
        "card": card.card if card else None,
        "computed_at": card.computed_at if card else None,
    }


# --- Peer benchmarks -------------------------------------------------------------------------
# The per-tenant aggregates of a month, computed by PostgreSQL inside the current tenant's
# schema: for each industry (and all industries together) × catalog KPI with at least
# MIN_TENANT_ACCOUNTS accounts, the number of non-churned accounts with a value and the 19
# quantiles (5 % to 95 %) of those values. Raw values stay here.
PEER_AGGREGATES_SQL = """
    SELECT GROUPING(a.industry_key) = 1 AS every_industry, a.industry_key, k.key, count(*),
           percentile_cont(%(levels)s::float8[]) WITHIN GROUP (ORDER BY v.value)
    FROM kpis_kpivalue v
    JOIN (SELECT id, status, NULLIF(lower(regexp_replace(btrim(industry), '[[:space:]]+', ' ', 'g')), '') AS industry_key
          FROM kpis_account) a ON a.id = v.account_id
    JOIN kpis_kpidefinition k ON k.id = v.kpi_id
    WHERE v.is_current AND v.period = %(month)s AND a.status <> 'churned' AND k.key = ANY(%(kpis)s)
    GROUP BY GROUPING SETS ((a.industry_key, k.key), (k.key))
    HAVING count(*) >= %(min_accounts)s
"""


def peer_industry_key(industry: str) -> str:
    """Industries are free text per tenant; cells match them case- and space-insensitively."""
    return " ".join(industry.split()).lower()


def peer_industry_label(industry_key: str) -> str:
    """The shipped catalog's spelling of an industry, or the key in title case."""
    if industry_key == ALL_INDUSTRIES:
        return "All industries"
    shipped = {peer_industry_key(name): name for name in catalog.SHIPPED.industries}
    return shipped.get(industry_key, industry_key.title())


def tenant_peer_aggregates(month: dt.date) -> dict[tuple[str, str], TenantAggregate]:
    """{(industry key, KPI key): aggregate} of the current schema for one month."""
    params: dict[str, Any] = {
        "levels": list(QUANTILE_LEVELS),
        "month": month,
        "kpis": [k.key for k in catalog.DEFAULT_KPIS],
        "min_accounts": MIN_TENANT_ACCOUNTS,
    }
    with connection.cursor() as cursor:
        cursor.execute(PEER_AGGREGATES_SQL, params)
        rows = cursor.fetchall()
    return {
        (ALL_INDUSTRIES if every else industry, kpi): TenantAggregate(count, tuple(quantiles))
        for every, industry, kpi, count, quantiles in rows
        if every or industry
    }


def peer_position(value: float, cell) -> str:
    """Where a value sits among the peers' quartiles, in words."""
    if value < cell.p25:
        return "below p25"
    if value <= cell.median:
        return "p25 to median"
    return "median to p75" if value <= cell.p75 else "above p75"


def account_peer_benchmarks(tenant: Tenant, account: Account, latest_values: dict[str, float]) -> dict:
    """Each of the account's latest KPI values against the published peer cell of its
    industry, or None where there are not enough peers yet. Only for opted-in tenants."""
    if not tenant.peer_benchmarks:
        return {"visible": False}
    industry_key = peer_industry_key(account.industry)
    cells = peer_cells_latest(industry_key=industry_key, kpi_keys=list(latest_values)) if industry_key else {}
    rows = [
        {
            "kpi": key,
            "value": value,
            "cell": cells.get(key),
            "position": peer_position(value, cells[key]) if key in cells else "",
        }
        for key, value in latest_values.items()
    ]
    return {
        "visible": True,
        "industry": peer_industry_label(industry_key) if industry_key else "",
        "rows": rows,
    }


def dashboard_peer_medians(tenant: Tenant) -> dict:
    """The tenant's median per catalog KPI against the all-industries peer cell of the same
    month; KPIs without a published cell say so. Only for opted-in tenants."""
    if not tenant.peer_benchmarks:
        return {"visible": False}
    cells = peer_cells_latest(industry_key=ALL_INDUSTRIES)
    medians = _tenant_medians({cell.month for cell in cells.values()})
    rows = []
    for kpi in KpiDefinition.objects.filter(key__in=[k.key for k in catalog.DEFAULT_KPIS], active=True):
        cell = cells.get(kpi.key)
        own = medians.get((kpi.key, cell.month)) if cell else None
        position = peer_position(own, cell) if own is not None else ""
        rows.append({"kpi": kpi, "cell": cell, "median": own, "position": position})
    return {"visible": True, "rows": rows}


def _tenant_medians(months: set[dt.date]) -> dict[tuple[str, dt.date], float]:
    """{(KPI key, month): the median over this tenant's non-churned accounts}."""
    sql = """
        SELECT k.key, v.period, percentile_cont(0.5) WITHIN GROUP (ORDER BY v.value)
        FROM kpis_kpivalue v JOIN kpis_kpidefinition k ON k.id = v.kpi_id
        JOIN kpis_account a ON a.id = v.account_id
        WHERE v.is_current AND v.period = ANY(%s) AND a.status <> 'churned'
        GROUP BY k.key, v.period
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [sorted(months)])
        return {(key, period): median for key, period, median in cursor.fetchall()}


def peer_benchmark_rows(*, industry: str, kpi_keys: list[str]) -> dict:
    """The latest published cell of each KPI in one industry ("" for all industries), with
    "not enough peers yet" where there is none. Callers check the tenant opted in."""
    industry_key = peer_industry_key(industry) or ALL_INDUSTRIES
    cells = peer_cells_latest(industry_key=industry_key, kpi_keys=kpi_keys)
    return {
        "industry": peer_industry_label(industry_key),
        "rows": [{"kpi": key, "cell": cells.get(key)} for key in kpi_keys],
    }
