"""Insights from the data: health drops, KPIs entering critical, renewals at risk,
expansion signals, data gaps. Inserted with ON CONFLICT DO NOTHING on (account, rule,
month), so generating twice never duplicates one."""

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence

from django.db import connection
from django.utils import timezone

from kpis.catalog import USAGE
from kpis.models import Account, Band, HealthSnapshot, Insight, KpiDefinition, KpiValue
from kpis.snapshots import Snapshot

SCORE_DROP_POINTS = 10.0
RENEWAL_WINDOW_DAYS = 90
EXPANSION_GROWTH = 0.20
INSERT_SQL = """
    INSERT INTO kpis_insight (account_id, rule, subject, period, severity, title, detail, data, created_at)
    VALUES (%s, %s, '', %s, %s, %s, %s, %s, %s)
    ON CONFLICT (account_id, rule, period, subject) DO NOTHING
"""


def insights_generate(
    *,
    model_version: int,
    account_ids: list[int] | None = None,
    today: dt.date | None = None,
    history: Mapping[int, Sequence[Snapshot]] | None = None,
) -> int:
    """Evaluate every rule for the accounts (all when None); returns how many were new. Their
    snapshots under the version are read unless `history` (account id → snapshots in period
    order, as kpis.recompute just wrote them) is given."""
    today = today or timezone.localdate()
    chosen = Account.objects.all() if account_ids is None else Account.objects.filter(pk__in=account_ids)
    accounts = {account.pk: account for account in chosen}
    if history is None:
        history = _history(model_version, list(accounts))
    usage_keys = _usage_keys()
    kpi_names = dict(KpiDefinition.objects.values_list("key", "name"))
    found = []
    for account_id, snapshots in history.items():
        account = accounts[account_id]
        found += _score_drops(account, snapshots) + _kpis_entering_critical(account, snapshots, kpi_names)
        found += _renewal_risk(account, snapshots, today) + _expansion(account, snapshots, usage_keys)
    found += _data_gaps(accounts, history)
    return _insert(found)


def _history(version: int, account_ids: list[int]) -> dict[int, list[Snapshot]]:
    history: dict[int, list[Snapshot]] = defaultdict(list)
    snapshots = HealthSnapshot.objects.filter(model_version=version, account_id__in=account_ids).order_by(
        "period"
    )
    for snapshot in snapshots.only("account_id", "period", "score", "band", "explanation"):
        history[snapshot.account_id].append(snapshot)
    return history


def _insight(account, rule, period, severity, title, detail, data) -> tuple:
    return (account.pk, rule, period, severity, title, detail, json.dumps(data, default=str), timezone.now())


def _score_drops(account: Account, snapshots: Sequence[Snapshot]) -> list[tuple]:
    found = []
    for before, after in zip(snapshots, snapshots[1:], strict=False):
        drop = before.score - after.score
        if drop >= SCORE_DROP_POINTS:
            severity = (
                Insight.Severity.CRITICAL if drop >= 2 * SCORE_DROP_POINTS else Insight.Severity.WARNING
            )
            detail = (
                f"Health fell {drop:.0f} points in a month, from {before.score:.0f} to {after.score:.0f}."
            )
            drivers = after.explanation.get("drivers", [])
            data = {"from": round(before.score, 1), "to": round(after.score, 1), "drivers": drivers}
            found.append(
                _insight(
                    account,
                    Insight.Rule.SCORE_DROP,
                    after.period,
                    severity,
                    f"{account.name}: health dropped {drop:.0f} points",
                    detail,
                    data,
                )
            )
    return found


def _kpis_entering_critical(
    account: Account, snapshots: Sequence[Snapshot], kpi_names: dict[str, str]
) -> list[tuple]:
    """Text names the KPIs as people know them; the data keeps their keys."""
    found = []
    for before, after in zip(snapshots, snapshots[1:], strict=False):
        was_critical = {k["kpi"] for k in before.explanation.get("kpis", []) if k["band"] == Band.CRITICAL}
        entered = [
            k
            for k in after.explanation.get("kpis", [])
            if k["band"] == Band.CRITICAL and k["kpi"] not in was_critical
        ]
        if entered:
            names = ", ".join(kpi_names.get(k["kpi"], k["kpi"]) for k in entered)
            data = {"kpis": [{"kpi": k["kpi"], "value": k["value"], "score": k["score"]} for k in entered]}
            found.append(
                _insight(
                    account,
                    Insight.Rule.KPI_CRITICAL,
                    after.period,
                    Insight.Severity.WARNING,
                    f"{account.name}: {len(entered)} KPI(s) entered critical",
                    f"Now in the critical range: {names}.",
                    data,
                )
            )
    return found


def _renewal_risk(account: Account, snapshots: Sequence[Snapshot], today: dt.date) -> list[tuple]:
    latest = snapshots[-1] if snapshots else None
    if latest is None or account.renewal_date is None or latest.band == Band.HEALTHY:
        return []
    days = (account.renewal_date - today).days
    if not 0 <= days <= RENEWAL_WINDOW_DAYS:
        return []
    severity = Insight.Severity.CRITICAL if latest.band == Band.CRITICAL else Insight.Severity.WARNING
    detail = (
        f"Renews on {account.renewal_date:%Y-%m-%d} (in {days} days) while {latest.band} "
        f"with a score of {latest.score:.0f}; ARR {account.revenue:,.0f}."
    )
    data = {
        "renewal_date": account.renewal_date,
        "days": days,
        "band": latest.band,
        "score": round(latest.score, 1),
        "arr": str(account.revenue),
    }
    return [
        _insight(
            account,
            Insight.Rule.RENEWAL_RISK,
            latest.period,
            severity,
            f"{account.name}: renewal in {days} days at {latest.band}",
            detail,
            data,
        )
    ]


def _expansion(account: Account, snapshots: Sequence[Snapshot], usage_keys: set[str]) -> list[tuple]:
    """Usage KPIs (higher is better) up ≥ 20% on average over three months, while healthy."""
    if len(snapshots) < 4 or snapshots[-1].band != Band.HEALTHY:
        return []
    now = {k["kpi"]: k["value"] for k in snapshots[-1].explanation.get("kpis", []) if k["kpi"] in usage_keys}
    then = {k["kpi"]: k["value"] for k in snapshots[-4].explanation.get("kpis", []) if k["kpi"] in usage_keys}
    growths = [(now[key] - then[key]) / then[key] for key in now.keys() & then.keys() if then[key]]
    if not growths or sum(growths) / len(growths) < EXPANSION_GROWTH:
        return []
    growth = 100 * sum(growths) / len(growths)
    data = {"usage_growth_pct": round(growth, 1), "score": round(snapshots[-1].score, 1)}
    return [
        _insight(
            account,
            Insight.Rule.EXPANSION,
            snapshots[-1].period,
            Insight.Severity.INFO,
            f"{account.name}: usage up {growth:.0f}% — time to talk expansion",
            f"Product usage grew {growth:.0f}% over three months while the account is healthy.",
            data,
        )
    ]


def _usage_keys() -> set[str]:
    return set(
        KpiDefinition.objects.filter(category=USAGE, direction=KpiDefinition.Direction.HIGHER).values_list(
            "key", flat=True
        )
    )


def _data_gaps(accounts: dict[int, Account], history: Mapping[int, Sequence[Snapshot]]) -> list[tuple]:
    """Accounts with no values in the last two months of the tenant's data."""
    latest = (
        KpiValue.objects.filter(is_current=True).order_by("-period").values_list("period", flat=True).first()
    )
    if latest is None:
        return []
    previous = (latest.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    found = []
    for account in accounts.values():
        periods = {snapshot.period for snapshot in history.get(account.pk, [])}
        if latest not in periods and previous not in periods:
            last_seen = max(periods, default=None)
            data = {"last_period_with_data": last_seen, "months_missing": [previous, latest]}
            found.append(
                _insight(
                    account,
                    Insight.Rule.DATA_GAP,
                    latest,
                    Insight.Severity.WARNING,
                    f"{account.name}: no data for 2 months",
                    "No KPI values arrived for the last two months; its health is out of date.",
                    data,
                )
            )
    return found


def _insert(rows: list[tuple]) -> int:
    if not rows:
        return 0
    with connection.cursor() as cursor:
        before = Insight.objects.count()
        cursor.executemany(INSERT_SQL, rows)
        return Insight.objects.count() - before
