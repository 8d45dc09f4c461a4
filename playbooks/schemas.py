"""What a trigger condition and an exit criterion may hold: one schema per condition type and
per exit-criterion check type.

No database access, so services, admin and portal forms, the catalog loader and tests share
it; the bands, insight rules and trigger actions come from where they are defined. KPI keys live in each tenant's catalog, so callers pass the tenant's KPIs in as
{key: (lowest, highest possible value)}. Every problem comes back at once as
{field path: what to give instead}, e.g. {"condition.bands": "Give a list of at least one of
healthy, risk, critical."}; criteria.py only ever evaluates what passed here.
"""

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from kpis.models import Insight
from kpis.scoring import Band
from playbooks.models import Trigger

Kpis = Mapping[str, tuple[float, float]]
Problems = dict[str, str]

BANDS = tuple(Band)
# The insight engine's rules a trigger can wait for; its own "playbook_suggested" would loop.
INSIGHT_RULES = tuple(rule for rule in Insight.Rule if rule != Insight.Rule.PLAYBOOK_SUGGESTED)
# account_facts compares the latest health score with this many months back, no further.
SCORE_DROP_MAX_MONTHS = 3
MAX_RENEWAL_DAYS = 730
MAX_COOLDOWN_DAYS = 730
CRITERION_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_DESCRIPTION = 500


@dataclass(frozen=True)
class Field:
    hint: str  # what a good value is, said as what to give
    accepts: Callable[[object, Kpis], bool]
    required: bool = True


@dataclass(frozen=True)
class Schema:
    fields: dict[str, Field] = field(default_factory=dict)
    # Checks across fields, run once every field on its own is fine.
    across: Callable[[dict, Kpis, str], Problems] | None = None


def _is_number(value) -> bool:
    # math.isfinite would overflow on a huge int, and ints are finite anyway.
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


def _whole(low: int, high: int) -> Callable[[object, Kpis], bool]:
    return (
        lambda value, _kpis: isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    )


def _number(low: float, high: float, *, above_low: bool = False) -> Callable[[object, Kpis], bool]:
    def accepts(value, _kpis) -> bool:
        return _is_number(value) and (low < value if above_low else low <= value) and value <= high

    return accepts


def _one_of(choices: tuple[str, ...]) -> Callable[[object, Kpis], bool]:
    return lambda value, _kpis: isinstance(value, str) and value in choices


def _bands(value, kpis) -> bool:
    return isinstance(value, list) and bool(value) and all(_one_of(BANDS)(band, kpis) for band in value)


def _kpi(value, kpis) -> bool:
    return isinstance(value, str) and value in kpis


def _criterion_key(value, _kpis) -> bool:
    return isinstance(value, str) and bool(CRITERION_KEY.fullmatch(value))


def _sentence(value, _kpis) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= MAX_DESCRIPTION


def _anything(_value, _kpis) -> bool:
    return True


def _value_within_kpi(obj: dict, kpis: Kpis, path: str) -> Problems:
    low, high = kpis[obj["kpi"]]
    if low <= obj["value"] <= high:
        return {}
    return {
        f"{path}.value": f"Give a value {obj['kpi']} can take, from {low:g} to {high:g}{_not(obj['value'])}."
    }


BAND = Field(f"Give one of {', '.join(BANDS)}.", _one_of(BANDS))
KPI = Field("Give the key of a KPI in this workspace's catalog (see Health settings), e.g. nps.", _kpi)
KPI_THRESHOLD = Schema(
    {"kpi": KPI, "value": Field("Give the threshold, a number.", _number(-math.inf, math.inf))},
    across=_value_within_kpi,
)
CONDITIONS = {
    "band_in": Schema({"bands": Field(f"Give a list of at least one of {', '.join(BANDS)}.", _bands)}),
    "score_drop": Schema(
        {
            "points": Field(
                "Give the drop in health score points, above 0 and at most 100.",
                _number(0, 100, above_low=True),
            ),
            "months": Field(
                f"Give the months to compare over, a whole number from 1 to {SCORE_DROP_MAX_MONTHS} (1 when left out).",
                _whole(1, SCORE_DROP_MAX_MONTHS),
                required=False,
            ),
        }
    ),
    "kpi_below": KPI_THRESHOLD,
    "kpi_above": KPI_THRESHOLD,
    "renewal_within": Schema(
        {
            "days": Field(
                f"Give the days before renewal, a whole number from 1 to {MAX_RENEWAL_DAYS}.",
                _whole(1, MAX_RENEWAL_DAYS),
            )
        }
    ),
    "insight": Schema(
        {"rule": Field(f"Give one of the insight rules {', '.join(INSIGHT_RULES)}.", _one_of(INSIGHT_RULES))}
    ),
}
CHECKS = {
    "health_at_least": Schema({"score": Field("Give a health score from 0 to 100.", _number(0, 100))}),
    "band_is": Schema({"band": BAND}),
    "kpi_at_least": KPI_THRESHOLD,
    "kpi_at_most": KPI_THRESHOLD,
    "no_kpi_critical": Schema(),
}
TRIGGER_FIELDS = {
    "action": Field(f"Give one of {', '.join(Trigger.Action)}.", _one_of(tuple(Trigger.Action))),
    "cooldown_days": Field(
        f"Give the cooldown in days, a whole number from 0 to {MAX_COOLDOWN_DAYS}.",
        _whole(0, MAX_COOLDOWN_DAYS),
    ),
}
CRITERION_FIELDS = {
    "key": Field(
        "Give a key of lowercase letters, digits and underscores that starts with a letter (at most 64).",
        _criterion_key,
    ),
    "description": Field(
        f"Describe the criterion in a sentence (at most {MAX_DESCRIPTION} characters).",
        _sentence,
    ),
    # Checked against CHECKS on its own; left out or null, the team ticks the criterion.
    "check": Field("", _anything, required=False),
}
CRITERION_SHAPE = (
    'Give each criterion as {"key", "description", "check"}, with check null for one the team ticks.'
)


def condition_problems(condition, *, kpis: Kpis, path: str = "condition") -> Problems:
    """What is wrong with a trigger condition; empty when it can be evaluated."""
    return _typed_problems(condition, CONDITIONS, kpis, path, "condition")


def check_problems(check, *, kpis: Kpis, path: str) -> Problems:
    """What is wrong with an exit criterion's data check."""
    return _typed_problems(check, CHECKS, kpis, path, "check")


def trigger_problems(*, condition, action, cooldown_days, kpis: Kpis) -> Problems:
    """A trigger checked whole: its condition, action and cooldown."""
    values = {"action": action, "cooldown_days": cooldown_days}
    return {
        **condition_problems(condition, kpis=kpis),
        **_field_problems(values, TRIGGER_FIELDS, kpis, "", owner="a trigger"),
    }


def exit_criteria_problems(criteria, *, kpis: Kpis, path: str = "exit_criteria") -> Problems:
    """A playbook's exit criteria checked whole: shape, unique keys, and each data check."""
    if not isinstance(criteria, list):
        return {path: f"Give a list of criteria. {CRITERION_SHAPE}"}
    problems: Problems = {}
    first_with_key: dict[str, int] = {}
    for index, criterion in enumerate(criteria):
        problems.update(_criterion_problems(criterion, kpis, f"{path}[{index}]"))
        key = criterion.get("key") if isinstance(criterion, dict) else None
        if isinstance(key, str) and key in first_with_key:
            problems[f"{path}[{index}].key"] = (
                f"Give each criterion its own key; “{key}” is already the key of {path}[{first_with_key[key]}]."
            )
        elif isinstance(key, str):
            first_with_key[key] = index
    return problems


def tidy(value):
    """40 rather than the 40.0 a form's number field makes, like the catalog's conditions."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def describe(problems: Problems) -> str:
    """The problems as one line, for a log, an alert or a stored error."""
    return " ".join(f"{path}: {message}" for path, message in problems.items())


def _criterion_problems(criterion, kpis: Kpis, path: str) -> Problems:
    if not isinstance(criterion, dict):
        return {path: CRITERION_SHAPE}
    problems = _field_problems(criterion, CRITERION_FIELDS, kpis, f"{path}.", owner="a criterion")
    if criterion.get("check") is not None:
        problems.update(check_problems(criterion["check"], kpis=kpis, path=f"{path}.check"))
    return problems


def _typed_problems(obj, schemas: dict[str, Schema], kpis: Kpis, path: str, what: str) -> Problems:
    kinds = ", ".join(schemas)
    if not isinstance(obj, dict):
        return {path: f"Give a {what} object with a type, one of {kinds}."}
    kind = obj.get("type")
    if not isinstance(kind, str) or kind not in schemas:
        return {path: f"Use a {what} type from {kinds}{_not(kind)}."}
    schema = schemas[kind]
    fields = {name: value for name, value in obj.items() if name != "type"}
    problems = _field_problems(fields, schema.fields, kpis, f"{path}.", owner=kind)
    if schema.across and not problems:
        problems = schema.across(obj, kpis, path)
    return problems


def _field_problems(values: dict, fields: dict[str, Field], kpis: Kpis, prefix: str, owner: str) -> Problems:
    problems: Problems = {}
    for name, spec in fields.items():
        if name not in values:
            if spec.required:
                problems[prefix + name] = spec.hint
        elif not spec.accepts(values[name], kpis):
            problems[prefix + name] = f"{spec.hint.rstrip('.')}{_not(values[name])}."
    for name in values.keys() - fields.keys():
        takes = ", ".join(fields) or "no fields"
        problems[prefix + name] = f"Remove {name}: {owner} takes {takes}."
    return problems


def _not(value) -> str:
    """The value that was given, quoted back short: ' (not -5)'."""
    if value is None:
        return ""
    shown = json.dumps(tidy(value), default=str)
    return f" (not {shown if len(shown) <= 40 else shown[:37] + '...'})"
