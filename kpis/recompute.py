"""Recompute health snapshots set-based: read current KPI values for a chunk of accounts
in one query, score them in Python with the pure engine, and replace the chunk's
snapshots for the model version with one COPY — all in one transaction per chunk, so a
crash leaves every chunk either fully old or fully new, and a rerun is harmless."""

import itertools
import json
from collections.abc import Iterable, Iterator

from django.db import connection, transaction
from django.utils import timezone

from kpis.models import Account, HealthModel, KpiDefinition
from kpis.scoring import KpiRule, ModelRules, Scorer, explanation
from kpis.selectors import health_model_current, kpi_rules, model_rules

CHUNK_SIZE = 500
VALUES_SQL = """
    SELECT account_id, period, kpi_id, value FROM kpis_kpivalue
    WHERE is_current AND account_id = ANY(%s)
    ORDER BY account_id, period
"""
SNAPSHOT_COLUMNS = (
    "account_id", "period", "model_version", "score", "band", "category_scores", "coverage", "explanation",
    "computed_at",
)  # fmt: skip


def health_recompute(*, model_version: int | None = None, account_ids: Iterable[int] | None = None) -> int:
    """Recompute every month of the given accounts (all when None) under a model version
    (the current one when None). Returns the number of snapshots written."""
    model = HealthModel.objects.get(version=model_version) if model_version else health_model_current()
    rules = model_rules(model)
    kpis = _rules_by_id()
    written = 0
    for chunk in _chunks(_account_ids(account_ids)):
        rows = list(_snapshot_rows(_values(chunk), kpis, rules, model.version))
        _replace(chunk, model.version, rows)
        written += len(rows)
    return written


def _rules_by_id() -> dict[int, KpiRule]:
    keys = {rule.key: rule for rule in kpi_rules()}
    return {pk: keys[key] for pk, key in KpiDefinition.objects.filter(active=True).values_list("pk", "key")}


def _account_ids(account_ids: Iterable[int] | None) -> list[int]:
    if account_ids is None:
        return list(Account.objects.order_by("pk").values_list("pk", flat=True))
    return sorted(set(account_ids))


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK_SIZE):
        yield ids[start : start + CHUNK_SIZE]


def _values(account_ids: list[int]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(VALUES_SQL, [account_ids])
        return cursor.fetchall()


def _snapshot_rows(
    values: list[tuple], kpis: dict[int, KpiRule], rules: ModelRules, version: int
) -> Iterator[tuple]:
    """One row per account and month with data, in period order so each month is
    explained against the one before it."""
    now = timezone.now()
    scorer = Scorer(kpis.values(), rules)
    keys = {kpi_id: rule.key for kpi_id, rule in kpis.items()}
    for account_id, account_rows in itertools.groupby(values, key=lambda row: row[0]):
        previous = None
        for period, month_rows in itertools.groupby(account_rows, key=lambda row: row[1]):
            month_values = {keys[kpi_id]: value for _a, _p, kpi_id, value in month_rows if kpi_id in keys}
            health = scorer.score(month_values)
            yield (
                account_id, period, version, round(health.score, 4), health.band,
                compact_json({c: round(s, 2) for c, s in health.category_scores.items()}),
                round(health.coverage, 2), compact_json(explanation(health, previous)), now,
            )  # fmt: skip
            previous = health


def compact_json(data) -> str:
    """JSON without spaces: a few KB less per snapshot for PostgreSQL to parse."""
    return json.dumps(data, separators=(",", ":"))


@transaction.atomic
def _replace(account_ids: list[int], version: int, rows: list[tuple]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM kpis_healthsnapshot WHERE model_version = %s AND account_id = ANY(%s)",
            [version, account_ids],
        )
        with cursor.cursor.copy(
            f"COPY kpis_healthsnapshot ({', '.join(SNAPSHOT_COLUMNS)}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
