"""Recompute health snapshots set-based: read current KPI values for a chunk of accounts
in one query, score them in Python with the pure engine, and replace the chunk's
snapshots for the model version with one COPY — all in one transaction per chunk, so a
crash leaves every chunk either fully old or fully new, and a rerun is harmless. Each chunk's
snapshots are handed on as written, so that the insights and projections that follow from them
need not read them back (a third of a chunk's time, mostly decoding the explanations' JSON)."""

import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import orjson
from django.db import connection, transaction
from django.utils import timezone

from kpis.churn import ChurnModel, FeatureSpace
from kpis.models import Account, HealthModel, KpiDefinition
from kpis.scoring import Health, KpiRule, ModelRules, Scorer, band_of, explanation
from kpis.selectors import health_model_current, kpi_rules, model_rules
from kpis.snapshots import History, Written

CHUNK_SIZE = 500
VALUES_SQL = """
    SELECT account_id, period, kpi_id, value FROM kpis_kpivalue
    WHERE is_current AND account_id = ANY(%s)
    ORDER BY account_id, period
"""
SNAPSHOT_COLUMNS = (
    "account_id",
    "period",
    "model_version",
    "score",
    "band",
    "category_scores",
    "coverage",
    "explanation",
    "computed_at",
)


def health_recompute(*, model_version: int | None = None, account_ids: Iterable[int] | None = None) -> int:
    """Recompute every month of the given accounts (all when None) under a model version
    (the current one when None). Returns the number of snapshots written."""
    model = HealthModel.objects.get(version=model_version) if model_version else health_model_current()
    write = _chunk_writer(model)
    return sum(len(write(chunk)) for chunk in account_chunks(account_ids))


def health_recompute_chunks(
    *, model: HealthModel, account_ids: Iterable[int] | None = None
) -> Iterator[tuple[list[int], History]]:
    """Recompute the accounts (all when None) under `model` a chunk at a time, one transaction
    each; yields each chunk's account ids and the snapshots written for them. Only a chunk is
    ever held: a whole tenant's explanations would not fit in a worker's memory."""
    write = _chunk_writer(model)
    for chunk in account_chunks(account_ids):
        yield chunk, _history(write(chunk))


def _chunk_writer(model: HealthModel) -> Callable[[list[int]], list[tuple]]:
    """What recomputes a chunk of accounts under `model`: writes their snapshots (one transaction)
    and returns the rows written. The model is compiled once for every chunk."""
    rules = model_rules(model)
    kpis = _rules_by_id()
    learned = _learned(model, kpis.values())

    def write(chunk: list[int]) -> list[tuple]:
        values = _values(chunk)  # before the COPY starts: nothing else runs on its connection
        return _replace(chunk, model.version, _snapshot_rows(values, kpis, rules, model.version, learned))

    return write


def _history(rows: list[tuple]) -> History:
    # Decoded from the JSON just written rather than kept as built: insights and projections then
    # see exactly what a reader of the table sees (orjson writes NaN as null, numpy floats as
    # floats), and decoding costs a seventh of reading the rows back.
    history: History = defaultdict(list)
    for account_id, period, _version, score, band, _categories, _coverage, stored, _at in rows:
        history[account_id].append(Written(account_id, period, score, band, orjson.loads(stored)))
    return history


def _rules_by_id() -> dict[int, KpiRule]:
    keys = {rule.key: rule for rule in kpi_rules()}
    return {pk: keys[key] for pk, key in KpiDefinition.objects.filter(active=True).values_list("pk", "key")}


def _account_ids(account_ids: Iterable[int] | None) -> list[int]:
    if account_ids is None:
        return list(Account.objects.order_by("pk").values_list("pk", flat=True))
    return sorted(set(account_ids))


def account_chunks(
    account_ids: Iterable[int] | None = None, chunk_size: int = CHUNK_SIZE
) -> Iterator[list[int]]:
    """The accounts (all when None) in id order, `chunk_size` at a time: the unit a chunk task
    recomputes, one transaction each."""
    ids = _account_ids(account_ids)
    for start in range(0, len(ids), chunk_size):
        yield ids[start : start + chunk_size]


def _values(account_ids: list[int]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(VALUES_SQL, [account_ids])
        return cursor.fetchall()


@dataclass(frozen=True)
class LearnedScore:
    """A version's learned churn model: it replaces the rules' score with the renewal probability
    in points, and the rules' breakdown stays as what the KPIs say."""

    model: ChurnModel
    space: FeatureSpace
    rules: ModelRules
    label: str

    def apply(self, health: Health, history: list, periods: dict) -> dict:
        features = dict(
            zip(self.space.names, self.space.row(history, len(history) - 1, periods), strict=True)
        )
        probability, drivers = self.model.explain([features.get(name, math.nan) for name in self.model.names])
        score = 100 * (1 - probability)
        fired_by = [driver["feature"].split(":")[-1] for driver in drivers]
        health.overrides.append({"rule": self.label, "kpis": fired_by, "from": health.score, "to": score})
        health.score, health.band = score, band_of(score, self.rules.healthy_min, self.rules.critical_below)
        return {"churn_probability": round(probability, 4), "churn_drivers": drivers}


def _learned(model: HealthModel, rules: Iterable[KpiRule]) -> LearnedScore | None:
    if not model.learned_model_id:
        return None
    trained = model.learned_model
    label = f"Learned churn model of {trained.created_at:%Y-%m-%d}: score = renewal probability × 100"
    return LearnedScore(
        ChurnModel.from_json(trained.parameters), FeatureSpace(list(rules)), model_rules(model), label
    )


def _snapshot_rows(
    values: list[tuple],
    kpis: dict[int, KpiRule],
    rules: ModelRules,
    version: int,
    learned: LearnedScore | None = None,
) -> Iterator[tuple]:
    """One row per account and month with data, in period order so each month is
    explained against the one before it (and a learned model sees the months before it)."""
    now = timezone.now()
    scorer = Scorer(kpis.values(), rules)
    keys = {kpi_id: rule.key for kpi_id, rule in kpis.items()}
    for account_id, account_rows in itertools.groupby(values, key=lambda row: row[0]):
        previous, history, periods = None, [], {}
        for period, month_rows in itertools.groupby(account_rows, key=lambda row: row[1]):
            month_values = {keys[kpi_id]: value for _a, _p, kpi_id, value in month_rows if kpi_id in keys}
            health = scorer.score(month_values)
            periods[period] = len(history)
            history.append((period, month_values))
            churn = learned.apply(health, history, periods) if learned else {}
            yield (
                account_id,
                period,
                version,
                round(health.score, 4),
                health.band,
                compact_json({c: round(s, 2) for c, s in health.category_scores.items()}),
                round(health.coverage, 2),
                compact_json(explanation(health, previous) | churn),
                now,
            )
            previous = health


def compact_json(data) -> str:
    """JSON without spaces (a few KB less per snapshot for PostgreSQL to parse), by orjson:
    json.dumps took a sixth of a recompute. PostgreSQL stores the same jsonb either way."""
    return orjson.dumps(data, default=float).decode()  # numpy floats (churn drivers) as json.dumps did


@transaction.atomic
def _replace(account_ids: list[int], version: int, rows: Iterable[tuple]) -> list[tuple]:
    """Replace the accounts' snapshots under the version by `rows`, streamed into the COPY as they
    are computed, so PostgreSQL parses and stores each batch while Python scores the next (on
    another core) instead of after the last; returns the rows written."""
    written = []
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
                written.append(row)
    return written
