"""One schema per trigger condition and exit-criterion check, without a database: every
problem names its field path and says what to give instead."""

import math

import pytest

from kpis.catalog import kpis_by_key
from kpis.models import Insight
from playbooks.catalog import DEFAULT_PLAYBOOKS
from playbooks.schemas import (
    INSIGHT_RULES,
    condition_problems,
    exit_criteria_problems,
    trigger_problems,
)

KPIS = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0)}


def problems_of(condition) -> dict[str, str]:
    return condition_problems(condition, kpis=KPIS)


@pytest.mark.parametrize(
    "condition",
    [
        {"type": "band_in", "bands": ["risk", "critical"]},
        {"type": "score_drop", "points": 15},
        {"type": "score_drop", "points": 12.5, "months": 3},
        {"type": "kpi_below", "kpi": "nps", "value": 0},
        {"type": "kpi_above", "kpi": "csat", "value": 99.5},
        {"type": "renewal_within", "days": 120},
        {"type": "insight", "rule": "renewal_risk"},
    ],
)
def test_a_valid_condition_of_each_type_has_no_problems(condition):
    assert problems_of(condition) == {}


def test_band_in_without_bands_names_the_field():
    assert problems_of({"type": "band_in"}) == {
        "condition.bands": "Give a list of at least one of healthy, risk, critical."
    }


@pytest.mark.parametrize(
    ("condition", "path"),
    [
        ({"type": "band_in", "bands": []}, "condition.bands"),
        ({"type": "band_in", "bands": "risk"}, "condition.bands"),
        ({"type": "band_in", "bands": ["risk", "amber"]}, "condition.bands"),
        ({"type": "score_drop"}, "condition.points"),
        ({"type": "score_drop", "points": "15"}, "condition.points"),
        ({"type": "score_drop", "points": 0}, "condition.points"),
        ({"type": "score_drop", "points": 101}, "condition.points"),
        ({"type": "score_drop", "points": math.nan}, "condition.points"),
        ({"type": "score_drop", "points": True}, "condition.points"),
        ({"type": "score_drop", "points": 10**400}, "condition.points"),
        ({"type": "kpi_below", "kpi": "nps", "value": -(10**400)}, "condition.value"),
        ({"type": "score_drop", "points": 10, "months": 0}, "condition.months"),
        ({"type": "score_drop", "points": 10, "months": 4}, "condition.months"),
        ({"type": "score_drop", "points": 10, "months": 1.5}, "condition.months"),
        ({"type": "kpi_below", "value": 10}, "condition.kpi"),
        ({"type": "kpi_below", "kpi": "no_such_kpi", "value": 10}, "condition.kpi"),
        ({"type": "kpi_below", "kpi": ["nps"], "value": 10}, "condition.kpi"),
        ({"type": "kpi_above", "kpi": "nps"}, "condition.value"),
        ({"type": "kpi_above", "kpi": "nps", "value": "high"}, "condition.value"),
        ({"type": "kpi_above", "kpi": "nps", "value": math.inf}, "condition.value"),
        ({"type": "kpi_above", "kpi": "csat", "value": 150}, "condition.value"),
        ({"type": "renewal_within"}, "condition.days"),
        ({"type": "renewal_within", "days": -5}, "condition.days"),
        ({"type": "renewal_within", "days": 10_000}, "condition.days"),
        ({"type": "renewal_within", "days": "90"}, "condition.days"),
        ({"type": "insight"}, "condition.rule"),
        ({"type": "insight", "rule": "playbook_suggested"}, "condition.rule"),
        ({"type": "band_in", "bands": ["risk"], "points": 5}, "condition.points"),
        ({"type": "magic"}, "condition"),
        ({"bands": ["risk"]}, "condition"),
        (["band_in"], "condition"),
        (None, "condition"),
    ],
)
def test_each_missing_ill_typed_or_unknown_field_is_named(condition, path):
    problems = problems_of(condition)
    assert list(problems) == [path], problems
    assert problems[path].startswith(("Give", "Remove", "Use")) and problems[path].endswith(".")


def test_a_wrong_value_is_quoted_back():
    message = problems_of({"type": "renewal_within", "days": -5})["condition.days"]
    assert message == "Give the days before renewal, a whole number from 1 to 730 (not -5)."


def test_a_kpi_value_outside_the_kpis_possible_range_says_the_range():
    message = problems_of({"type": "kpi_above", "kpi": "csat", "value": 150})["condition.value"]
    assert message == "Give a value csat can take, from 0 to 100 (not 150)."


def test_every_problem_of_a_condition_is_reported_at_once():
    assert set(problems_of({"type": "kpi_below", "kpi": "nope", "value": "x", "extra": 1})) == {
        "condition.kpi",
        "condition.value",
        "condition.extra",
    }


def test_insight_rules_are_the_insight_engines_own_but_the_playbook_suggestion():
    assert set(INSIGHT_RULES) == set(Insight.Rule.values) - {Insight.Rule.PLAYBOOK_SUGGESTED}


def test_a_trigger_is_checked_whole():
    problems = trigger_problems(condition={"type": "band_in"}, action="shout", cooldown_days=-1, kpis=KPIS)
    assert set(problems) == {"condition.bands", "action", "cooldown_days"}
    assert (
        trigger_problems(
            condition={"type": "band_in", "bands": ["risk"]}, action="suggest", cooldown_days=0, kpis=KPIS
        )
        == {}
    )


def test_exit_criteria_each_problem_names_its_path():
    criteria = [
        {"key": "healthy_again", "description": "Health back to healthy.", "check": {"type": "band_is"}},
        {"key": "healthy_again", "description": "", "check": None},
        {
            "key": "Bad Key",
            "description": "NPS up.",
            "check": {"type": "kpi_at_least", "kpi": "x", "value": 1},
        },
        {"key": "manual", "description": "Sponsor agreed.", "colour": "red"},
        "tick me",
    ]
    assert set(exit_criteria_problems(criteria, kpis=KPIS)) == {
        "exit_criteria[0].check.band",
        "exit_criteria[1].key",
        "exit_criteria[1].description",
        "exit_criteria[2].key",
        "exit_criteria[2].check.kpi",
        "exit_criteria[3].colour",
        "exit_criteria[4]",
    }


@pytest.mark.parametrize(
    "check",
    [
        {"type": "health_at_least", "score": 55},
        {"type": "band_is", "band": "healthy"},
        {"type": "kpi_at_least", "kpi": "nps", "value": 10},
        {"type": "kpi_at_most", "kpi": "csat", "value": 40},
        {"type": "no_kpi_critical"},
    ],
)
def test_a_valid_check_of_each_type_and_a_manual_criterion_pass(check):
    criteria = [
        {"key": "checked", "description": "Checked against the data.", "check": check},
        {"key": "ticked", "description": "Ticked by the team.", "check": None},
        {"key": "ticked_too", "description": "A manual one without the check field."},
    ]
    assert exit_criteria_problems(criteria, kpis=KPIS) == {}


@pytest.mark.parametrize(
    ("check", "path"),
    [
        ({"type": "health_at_least"}, "exit_criteria[0].check.score"),
        ({"type": "health_at_least", "score": 120}, "exit_criteria[0].check.score"),
        ({"type": "band_is", "band": ["healthy"]}, "exit_criteria[0].check.band"),
        ({"type": "kpi_at_most", "kpi": "nps"}, "exit_criteria[0].check.value"),
        ({"type": "no_kpi_critical", "kpi": "nps"}, "exit_criteria[0].check.kpi"),
        ({"type": "always"}, "exit_criteria[0].check"),
    ],
)
def test_each_check_types_fields(check, path):
    criteria = [{"key": "checked", "description": "Checked against the data.", "check": check}]
    assert list(exit_criteria_problems(criteria, kpis=KPIS)) == [path]


def test_exit_criteria_must_be_a_list():
    assert list(exit_criteria_problems({"key": "x"}, kpis=KPIS)) == ["exit_criteria"]


def test_the_shipped_catalog_passes_its_own_schemas():
    kpis = {key: (kpi.min_value, kpi.max_value) for key, kpi in kpis_by_key().items()}
    for playbook in DEFAULT_PLAYBOOKS:
        criteria = [
            {"key": c.key, "description": c.description, "check": c.check} for c in playbook.exit_criteria
        ]
        assert exit_criteria_problems(criteria, kpis=kpis) == {}, playbook.key
        for trigger in playbook.triggers:
            assert (
                trigger_problems(
                    condition=trigger.condition,
                    action=trigger.action,
                    cooldown_days=trigger.cooldown_days,
                    kpis=kpis,
                )
                == {}
            ), playbook.key
