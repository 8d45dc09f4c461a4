"""The health engine: pure Python, no Django, so it is fast and easy to test.

A KPI's value becomes a 0–100 score along its reference range (piecewise-linear through
worst → 0, critical → 40, healthy → 70, best → 100, clamped). A category scores the
weighted mean of its KPIs (weight × impact); the account scores the weighted mean of its
categories by the tenant's category weights. Missing KPIs are left out and their weight
is redistributed (or scored 0, if the model says so). Every number that makes the score
is kept, so the score explains itself: each KPI's contribution in points adds up to it.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

IMPACT_MULTIPLIER = {"high": 1.5, "medium": 1.0, "low": 0.5}
BAND_ORDER = {"critical": 0, "risk": 1, "healthy": 2}
# Score anchors of the reference range: worst, critical, healthy, best.
ANCHOR_SCORES = (0.0, 40.0, 70.0, 100.0)


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


@dataclass(frozen=True)
class ModelRules:
    category_weights: Mapping[str, float]
    healthy_min: float = 70.0
    critical_below: float = 40.0
    missing_data_rule: str = "redistribute"  # | "score_zero"
    override_rules: tuple = ()


@dataclass(frozen=True)
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


def kpi_score(rule: KpiRule, value: float) -> float:
    """0–100 along the rule's reference range, respecting its direction, clamped."""
    anchors = (rule.worst, rule.critical, rule.healthy, rule.best)
    if rule.direction == "lower":  # flip so anchor values increase along the scale
        anchors, value = tuple(-a for a in anchors), -value
    if value <= anchors[0]:
        return 0.0
    if value >= anchors[3]:
        return 100.0
    for index in range(3):
        low, high = anchors[index], anchors[index + 1]
        if value <= high:
            span = high - low
            fraction = (value - low) / span if span else 1.0
            return ANCHOR_SCORES[index] + fraction * (ANCHOR_SCORES[index + 1] - ANCHOR_SCORES[index])
    return 100.0


def band_of(score: float, healthy_min: float = 70.0, critical_below: float = 40.0) -> str:
    if score >= healthy_min:
        return "healthy"
    return "risk" if score >= critical_below else "critical"


def score_account(rules: Iterable[KpiRule], values: Mapping[str, float], model: ModelRules) -> Health:
    """The account's health for one month from its KPI values (missing keys = no data)."""
    by_category = _group(rules, model)
    kpi_scores = {
        rule.key: _score_or_none(rule, values.get(rule.key), model)
        for group in by_category.values()
        for rule in group
    }
    category_scores, category_shares = {}, {}
    for category, group in by_category.items():
        present = [rule for rule in group if kpi_scores[rule.key] is not None]
        total = sum(rule.effective_weight for rule in present)
        if total > 0:
            category_scores[category] = sum(kpi_scores[r.key] * r.effective_weight for r in present) / total
            category_shares[category] = {r.key: r.effective_weight / total for r in present}
    account_weights = _normalised({c: model.category_weights.get(c, 1.0) for c in category_scores})
    score = sum(category_scores[c] * account_weights[c] for c in category_scores)
    results = _kpi_results(by_category, values, kpi_scores, category_shares, account_weights, model)
    health = Health(
        score=score,
        band=band_of(score, model.healthy_min, model.critical_below),
        category_scores=category_scores,
        coverage=_coverage(by_category, kpi_scores, model),
        kpis=results,
        missing=_missing(by_category, kpi_scores, model),
    )
    _apply_overrides(health, model)
    return health


def _group(rules: Iterable[KpiRule], model: ModelRules) -> dict[str, list[KpiRule]]:
    groups: dict[str, list[KpiRule]] = {}
    for rule in rules:
        if model.category_weights.get(rule.category, 1.0) > 0:
            groups.setdefault(rule.category, []).append(rule)
    return groups


def _score_or_none(rule: KpiRule, value: float | None, model: ModelRules) -> float | None:
    if value is not None:
        return kpi_score(rule, value)
    return 0.0 if model.missing_data_rule == "score_zero" else None


def _normalised(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {name: weight / total for name, weight in weights.items()} if total else {}


def _kpi_results(by_category, values, kpi_scores, category_shares, account_weights, model) -> list[KpiResult]:
    impacts = {rule.key: rule.impact for group in by_category.values() for rule in group}
    results = []
    for category, shares in category_shares.items():
        for key, share in shares.items():
            weight = share * account_weights[category]
            score = kpi_scores[key]
            results.append(
                KpiResult(
                    key=key,
                    category=category,
                    impact=impacts[key],
                    value=values.get(key),
                    score=score,
                    band=band_of(score),
                    weight=weight,
                    points=score * weight,
                )
            )
    return results


def _coverage(by_category, kpi_scores, model: ModelRules) -> float:
    """% of the model's total weight (category weight split by KPI weight) that has data."""
    category_weights = _normalised({c: model.category_weights.get(c, 1.0) for c in by_category})
    covered = 0.0
    for category, group in by_category.items():
        total = sum(rule.effective_weight for rule in group)
        present = sum(rule.effective_weight for rule in group if kpi_scores[rule.key] is not None)
        covered += category_weights[category] * (present / total if total else 0.0)
    return 100.0 * covered


def _missing(by_category, kpi_scores, model: ModelRules) -> list[dict]:
    """Which inputs had no value, and the share of the score they would have carried."""
    category_weights = _normalised({c: model.category_weights.get(c, 1.0) for c in by_category})
    missing = []
    for category, group in by_category.items():
        total = sum(rule.effective_weight for rule in group)
        for rule in group:
            if kpi_scores[rule.key] is None:
                share = category_weights[category] * rule.effective_weight / total
                missing.append({"kpi": rule.key, "category": category, "weight_pct": round(100 * share, 2)})
    return missing


def _apply_overrides(health: Health, model: ModelRules) -> None:
    """Rules like {"name": ..., "impact": "high", "kpi_band": "critical", "cap_band": "risk"}:
    when any KPI (of that impact, if given) is in `kpi_band`, the account is capped at
    the top of `cap_band`. A rule that fires is recorded with the KPIs that fired it."""
    for rule in model.override_rules:
        triggers = [kpi.key for kpi in health.kpis if _rule_matches(rule, kpi)]
        cap = _cap_score(rule.get("cap_band", "risk"), model)
        if triggers and health.score > cap:
            name = rule.get("name", "override")
            health.overrides.append({"rule": name, "kpis": triggers, "from": health.score, "to": cap})
            health.score = cap
            health.band = band_of(cap, model.healthy_min, model.critical_below)


def _rule_matches(rule: Mapping, kpi: KpiResult) -> bool:
    wanted_impact = rule.get("impact")
    return kpi.band == rule.get("kpi_band", "critical") and wanted_impact in (None, kpi.impact)


def _cap_score(band: str, model: ModelRules) -> float:
    """The highest score still inside `band`."""
    if band == "critical":
        return model.critical_below - 0.01
    if band == "risk":
        return model.healthy_min - 0.01
    return 100.0


def drivers(current: Health, previous: Health | None, limit: int = 3) -> list[dict]:
    """The KPIs whose contribution changed most since last month (from → to, in points)."""
    if previous is None:
        return []
    before = {kpi.key: kpi for kpi in previous.kpis}
    changes = []
    for kpi in current.kpis:
        old = before.get(kpi.key)
        delta = kpi.points - (old.points if old else 0.0)
        changes.append(
            {"kpi": kpi.key, "from": old.value if old else None, "to": kpi.value, "points": round(delta, 2)}
        )
    changes.sort(key=lambda change: abs(change["points"]), reverse=True)
    return [change for change in changes[:limit] if change["points"] != 0]


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
                "category": kpi.category,
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
