"""Exit criteria and trigger conditions checked against an account's data. Pure functions
over a small "facts" dict, so services and tests share them. They take conditions and checks
that passed playbooks.schemas: services validate them on save, and trigger evaluation again
first, for rows saved before that."""

import datetime as dt

from kpis import catalog
from kpis.models import Insight
from kpis.scoring import Band

# facts = {"score": float|None, "band": str|None, "kpis": {key: {"value", "band"}}, "drops": [(months, points)],
#          "renewal_date": date|None, "today": date, "insight_rules": set[str]}


def criterion_met(check: dict, facts: dict) -> tuple[bool, object]:
    """(met, the value it was judged on) for a data-checked exit criterion."""
    kind = check.get("type")
    if kind == "health_at_least":
        return _compare(facts.get("score"), check["score"], at_least=True)
    if kind == "band_is":
        return facts.get("band") == check["band"], facts.get("band")
    if kind in ("kpi_at_least", "kpi_at_most"):
        value = facts["kpis"].get(check["kpi"], {}).get("value")
        return _compare(value, check["value"], at_least=kind == "kpi_at_least")
    if kind == "no_kpi_critical":
        critical = sorted(key for key, kpi in facts["kpis"].items() if kpi.get("band") == Band.CRITICAL)
        return not critical and bool(facts["kpis"]), critical
    return False, None


def _compare(value, bound, *, at_least: bool) -> tuple[bool, object]:
    if value is None:
        return False, None
    return (value >= bound if at_least else value <= bound), value


def condition_met(condition: dict, facts: dict) -> tuple[bool, str]:
    """(met, why) for a trigger condition."""
    kind = condition.get("type")
    if kind == "band_in":
        band = facts.get("band")
        return band in condition["bands"], f"health band is {band}"
    if kind == "score_drop":
        drop = facts["drops"].get(condition.get("months", 1), 0.0)
        return drop >= condition[
            "points"
        ], f"score fell {drop:.0f} points in {condition.get('months', 1)} month(s)"
    if kind in ("kpi_below", "kpi_above"):
        value = facts["kpis"].get(condition["kpi"], {}).get("value")
        if value is None:
            return False, f"no value for {condition['kpi']}"
        met = value < condition["value"] if kind == "kpi_below" else value > condition["value"]
        return met, f"{condition['kpi']} is {value}"
    if kind == "renewal_within":
        return _renewal_within(facts, condition["days"])
    if kind == "insight":
        return condition["rule"] in facts["insight_rules"], condition_sentence(condition)
    return False, f"unknown condition {kind}"


def _renewal_within(facts: dict, days: int) -> tuple[bool, str]:
    renewal = facts.get("renewal_date")
    if renewal is None:
        return False, "no renewal date"
    left = (renewal - facts.get("today", dt.date.today())).days
    return 0 <= left <= days, f"renews in {left} days"


def condition_sentence(condition: object) -> str:
    """A trigger condition as a person says it, e.g. "health band is risk or critical"."""
    if not isinstance(condition, dict):
        return "an invalid condition (fix it on the trigger)"
    kind = condition.get("type")
    try:
        if kind == "band_in":
            return f"health band is {_either(condition['bands'])}"
        if kind == "score_drop":
            months = condition.get("months", 1)
            return f"health score fell {condition['points']:g} points or more in {months} month{'s' if months != 1 else ''}"
        if kind in ("kpi_below", "kpi_above"):
            return f"{_kpi_name(condition['kpi'])} is {kind.removeprefix('kpi_')} {condition['value']:g}"
        if kind == "renewal_within":
            return f"renewal is within {condition['days']} days"
        if kind == "insight":
            return f"insight “{_rule_label(condition['rule'])}” was raised"
    except (KeyError, TypeError, ValueError):
        pass
    return "an invalid condition (fix it on the trigger)"


def _either(items: list) -> str:
    words = [str(item) for item in items]
    return " or ".join(filter(None, [", ".join(words[:-1]), words[-1]])) if words else "any"


# KPI names from the shipped catalog, not the tenant's table: a sentence costs no query, so a list
# of runs or triggers stays a fixed number of queries.
KPI_NAMES = {kpi.key: kpi.name for kpi in catalog.DEFAULT_KPIS}


def _kpi_name(key: str) -> str:
    return KPI_NAMES.get(key, key)


def _rule_label(rule: str) -> str:
    return Insight.Rule(rule).label if rule in Insight.Rule.values else rule
