"""The health engine: pure Python, no Django, so it is fast and easy to test.

A KPI's value becomes a 0–100 score along its reference range (piecewise-linear through
worst → 0, critical → 40, healthy → 70, best → 100, clamped). A category scores the
weighted mean of its KPIs (weight × impact); the account scores the weighted mean of its
categories by the tenant's category weights. Missing KPIs are left out and their weight
is redistributed (or scored 0, if the model says so). Every number that makes the score
is kept, so the score explains itself: each KPI's contribution in points adds up to it.
"""

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

IMPACT_MULTIPLIER = {"high": 1.5, "medium": 1.0, "low": 0.5}
# Score anchors of the reference range: worst, critical, healthy, best.
ANCHOR_SCORES = (0.0, 40.0, 70.0, 100.0)
WORST_SCORE, CRITICAL_SCORE, HEALTHY_SCORE, BEST_SCORE = ANCHOR_SCORES


class Band(StrEnum):
    """Where a score falls: from the healthy anchor up, from the critical anchor up, below it.
    The one definition of the bands; models, schemas and forms take them from here."""

    HEALTHY = "healthy"
    RISK = "risk"
    CRITICAL = "critical"


@dataclass(frozen=True)
class KpiRule:
    key: str
    category: str
    direction: str  # "higher" | "lower"
    impact: str  # "high" | "medium" | "low"
    weight: float
    worst: float
    critical: float
    healthy: float
    best: float

    @property
    def effective_weight(self) -> float:
        return self.weight * IMPACT_MULTIPLIER.get(self.impact, 1.0)


class Anchors(NamedTuple):
    """A reference range: the values that score 0, 40, 70 and 100."""

    worst: float
    critical: float
    healthy: float
    best: float


class CompiledKpi(NamedTuple):
    """A KPI as the Scorer uses it: its range as increasing values, the sign that makes a value
    increase with them, and its effective weight in its category."""

    key: str
    anchors: Anchors
    sign: float
    weight: float
    impact: str


@dataclass(frozen=True)
class ModelRules:
    category_weights: Mapping[str, float]
    healthy_min: float = HEALTHY_SCORE
    critical_below: float = CRITICAL_SCORE
    missing_data_rule: str = "redistribute"  # | "score_zero"
    override_rules: tuple = ()


@dataclass(slots=True)
class KpiResult:
    key: str
    category: str
    impact: str
    value: float | None
    score: float
    band: str
    weight: float  # share of the account score, 0–1
    points: float  # score × weight: this KPI's contribution to the account score


@dataclass
class Health:
    score: float
    band: str
    category_scores: dict[str, float]
    coverage: float  # % of the model's weight backed by data
    kpis: list[KpiResult]
    missing: list[dict] = field(default_factory=list)
    overrides: list[dict] = field(default_factory=list)


class Change(NamedTuple):
    """How many points a KPI's contribution moved since last month."""

    points: float
    kpi: KpiResult


def kpi_score(rule: KpiRule, value: float) -> float:
    """0–100 along the rule's reference range, respecting its direction, clamped."""
    return _piecewise(_anchors(rule), -value if rule.direction == "lower" else value)


def _anchors(rule: KpiRule) -> Anchors:
    """The range as increasing values (lower-is-better ranges are negated)."""
    anchors = Anchors(rule.worst, rule.critical, rule.healthy, rule.best)
    return Anchors(*(-a for a in anchors)) if rule.direction == "lower" else anchors


def _piecewise(anchors: Anchors, value: float) -> float:
    worst, critical, healthy, best = anchors
    if value <= worst:
        return WORST_SCORE
    if value >= best:
        return BEST_SCORE
    if value <= critical:
        return WORST_SCORE + (CRITICAL_SCORE - WORST_SCORE) * _fraction(worst, critical, value)
    if value <= healthy:
        return CRITICAL_SCORE + (HEALTHY_SCORE - CRITICAL_SCORE) * _fraction(critical, healthy, value)
    return HEALTHY_SCORE + (BEST_SCORE - HEALTHY_SCORE) * _fraction(healthy, best, value)


def _fraction(low: float, high: float, value: float) -> float:
    return (value - low) / (high - low) if high != low else 1.0


def band_of(score: float, healthy_min: float = HEALTHY_SCORE, critical_below: float = CRITICAL_SCORE) -> Band:
    if score >= healthy_min:
        return Band.HEALTHY
    return Band.RISK if score >= critical_below else Band.CRITICAL


class Scorer:
    """A health model compiled once for many accounts and months: groups, signs and weights
    are worked out here, so scoring a month is a handful of arithmetic per KPI."""

    def __init__(self, rules: Iterable[KpiRule], model: ModelRules):
        self.model = model
        self.groups: dict[str, list[CompiledKpi]] = {}
        for rule in rules:
            if model.category_weights.get(rule.category, 1.0) > 0:
                sign = -1.0 if rule.direction == "lower" else 1.0
                kpi = CompiledKpi(rule.key, _anchors(rule), sign, rule.effective_weight, rule.impact)
                self.groups.setdefault(rule.category, []).append(kpi)
        self.category_weights = {c: model.category_weights.get(c, 1.0) for c in self.groups}
        self.category_shares = _normalised(self.category_weights)  # once, not per account-month
        self.group_totals = {c: sum(kpi.weight for kpi in group) for c, group in self.groups.items()}

    def score(self, values: Mapping[str, float]) -> Health:
        """The account's health for one month from its KPI values (missing keys = no data)."""
        scores = self._kpi_scores(values)
        category_scores, shares = {}, {}
        for category, group in self.groups.items():
            present = [(kpi, score) for kpi in group if (score := scores[kpi.key]) is not None]
            total = sum(kpi.weight for kpi, _score in present)
            if total > 0:
                category_scores[category] = sum(score * kpi.weight for kpi, score in present) / total
                shares[category] = [(kpi, kpi.weight / total) for kpi, _score in present]
        weights = _normalised({c: self.category_weights[c] for c in category_scores})
        score = sum(category_scores[c] * weights[c] for c in category_scores)
        health = Health(
            score=score,
            band=band_of(score, self.model.healthy_min, self.model.critical_below),
            category_scores=category_scores,
            coverage=self._coverage(scores),
            kpis=self._results(values, scores, shares, weights),
            missing=self._missing(scores),
        )
        _apply_overrides(health, self.model)
        return health

    def _kpi_scores(self, values: Mapping[str, float]) -> dict[str, float | None]:
        zero_if_missing = 0.0 if self.model.missing_data_rule == "score_zero" else None
        scores = {}
        for group in self.groups.values():
            for key, anchors, sign, _weight, _impact in group:
                value = values.get(key)
                scores[key] = zero_if_missing if value is None else _piecewise(anchors, sign * value)
        return scores

    def _results(self, values, scores, shares, weights) -> list[KpiResult]:
        results = []
        for category, entries in shares.items():
            for kpi, share in entries:
                weight, score = share * weights[category], scores[kpi.key]
                band = band_of(score)
                results.append(
                    KpiResult(
                        kpi.key,
                        category,
                        kpi.impact,
                        values.get(kpi.key),
                        score,
                        band,
                        weight,
                        score * weight,
                    )
                )
        return results

    def _coverage(self, scores) -> float:
        """% of the model's total weight (category weight split by KPI weight) that has data."""
        weights = self.category_shares
        covered = sum(
            weights[c]
            * sum(kpi.weight for kpi in group if scores[kpi.key] is not None)
            / self.group_totals[c]
            for c, group in self.groups.items()
            if self.group_totals[c]
        )
        return 100.0 * covered

    def _missing(self, scores) -> list[dict]:
        """Which inputs had no value, and the share of the score they would have carried."""
        weights = self.category_shares
        return [
            {
                "kpi": kpi.key,
                "category": c,
                "weight_pct": round(100 * weights[c] * kpi.weight / self.group_totals[c], 2),
            }
            for c, group in self.groups.items()
            for kpi in group
            if scores[kpi.key] is None
        ]


def score_account(rules: Iterable[KpiRule], values: Mapping[str, float], model: ModelRules) -> Health:
    """Score one account-month (compile a Scorer instead when scoring many)."""
    return Scorer(rules, model).score(values)


def _normalised(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {name: weight / total for name, weight in weights.items()} if total else {}


def _apply_overrides(health: Health, model: ModelRules) -> None:
    """Rules like {"name": ..., "impact": "high", "kpi_band": "critical", "cap_band": "risk"}:
    when any KPI (of that impact, if given) is in `kpi_band`, the account is capped at
    the top of `cap_band`. A rule that fires is recorded with the KPIs that fired it."""
    for rule in model.override_rules:
        cap = _cap_score(rule.get("cap_band", Band.RISK), model)
        if health.score <= cap:  # cannot lower anything: skip looking for triggers
            continue
        triggers = [kpi.key for kpi in health.kpis if _rule_matches(rule, kpi)]
        if triggers:
            name = rule.get("name", "override")
            health.overrides.append({"rule": name, "kpis": triggers, "from": health.score, "to": cap})
            health.score = cap
            health.band = band_of(cap, model.healthy_min, model.critical_below)


def _rule_matches(rule: Mapping, kpi: KpiResult) -> bool:
    wanted_impact = rule.get("impact")
    return kpi.band == rule.get("kpi_band", Band.CRITICAL) and wanted_impact in (None, kpi.impact)


def _cap_score(band: str, model: ModelRules) -> float:
    """The highest score still inside `band`."""
    if band == Band.CRITICAL:
        return model.critical_below - 0.01
    if band == Band.RISK:
        return model.healthy_min - 0.01
    return BEST_SCORE


def drivers(current: Health, previous: Health | None, limit: int = 3) -> list[dict]:
    """The KPIs whose contribution changed most since last month (from → to, in points)."""
    if previous is None:
        return []
    before = {kpi.key: kpi for kpi in previous.kpis}
    changes = [
        Change(kpi.points - (before[kpi.key].points if kpi.key in before else 0.0), kpi)
        for kpi in current.kpis
    ]
    top = heapq.nlargest(limit, changes, key=lambda change: abs(change.points))
    return [
        {
            "kpi": kpi.key,
            "from": before[kpi.key].value if kpi.key in before else None,
            "to": kpi.value,
            "points": round(points, 2),
        }
        for points, kpi in top
        if round(points, 2) != 0
    ]


def slope(scores: list[float]) -> float:
    """Least-squares slope in points per month (0 with fewer than two points)."""
    count = len(scores)
    if count < 2:
        return 0.0
    mean_x, mean_y = (count - 1) / 2, sum(scores) / count
    numerator = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(scores))
    denominator = sum((x - mean_x) ** 2 for x in range(count))
    return numerator / denominator


def explanation(health: Health, previous: Health | None) -> dict:
    """What the snapshot stores and the portal and API show. The KPIs' points plus the
    override adjustment add up to the score."""
    raw_score = sum(kpi.points for kpi in health.kpis)
    return {
        "kpis": [
            {
                "kpi": kpi.key,
                "value": kpi.value,
                "band": kpi.band,
                "score": round(kpi.score, 2),
                "weight_pct": round(100 * kpi.weight, 2),
                "points": round(kpi.points, 4),
            }
            for kpi in health.kpis
        ],
        "missing": health.missing,
        "coverage_pct": round(health.coverage, 2),
        "overrides": health.overrides,
        "adjustment_points": round(health.score - raw_score, 4),
        "change": round(health.score - previous.score, 2) if previous else None,
        "drivers": drivers(health, previous),
    }
