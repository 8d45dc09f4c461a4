"""The default playbook catalog, without a database."""

import re
from itertools import pairwise

import pytest

from kpis.catalog import kpis_by_key
from playbooks.catalog import DEFAULT_PLAYBOOKS, ROLES, PlaybookSpec, playbooks_by_key

EXPECTED = [
    ("voc_sprint", "VoC Sprint"),
    ("expansion_timing", "Expansion Timing"),
    ("renewal_safeguard", "Renewal Safeguard"),
    ("onboarding_acceleration", "Onboarding Acceleration"),
    ("adoption_rescue", "Adoption Rescue"),
    ("executive_business_review", "Executive Business Review"),
]
CHECK_FIELDS = {
    "health_at_least": {"score"},
    "band_is": {"band"},
    "kpi_at_least": {"kpi", "value"},
    "kpi_at_most": {"kpi", "value"},
    "no_kpi_critical": set(),
}
CONDITION_FIELDS = {
    "band_in": {"bands"},
    "score_drop": {"points", "months"},
    "kpi_below": {"kpi", "value"},
    "kpi_above": {"kpi", "value"},
    "renewal_within": {"days"},
    "insight": {"rule"},
}
BANDS = {"healthy", "risk", "critical"}
INSIGHT_RULES = {"score_drop", "kpi_critical", "renewal_risk", "expansion_signal", "data_gap"}

by_playbook = pytest.mark.parametrize("playbook", DEFAULT_PLAYBOOKS, ids=lambda playbook: playbook.key)


def test_six_playbooks_with_exact_keys_and_names_in_order():
    assert [(playbook.key, playbook.name) for playbook in DEFAULT_PLAYBOOKS] == EXPECTED
    assert list(playbooks_by_key()) == [key for key, _ in EXPECTED]


@by_playbook
def test_steps(playbook: PlaybookSpec):
    assert 5 <= len(playbook.steps) <= 8
    titles = [step.title for step in playbook.steps]
    assert len(set(titles)) == len(titles) and all(titles)
    for step in playbook.steps:
        assert len(step.description) >= 60, step.title
        assert "Done when" in step.description, step.title  # every step says what "done" looks like
    assert sum(step.required for step in playbook.steps) >= 5


@by_playbook
def test_raci(playbook: PlaybookSpec):
    for step in playbook.steps:
        raci = step.raci
        assert isinstance(raci.accountable, str) and raci.accountable in ROLES, step.title
        assert isinstance(raci.responsible, tuple) and len(raci.responsible) >= 1, step.title
        for roles in (raci.responsible, raci.consulted, raci.informed):
            assert isinstance(roles, tuple)
            assert set(roles) <= set(ROLES), step.title
            assert len(set(roles)) == len(roles), step.title
        assert not set(raci.consulted) & set(raci.informed), step.title


@by_playbook
def test_due_offsets_increase_within_the_duration(playbook: PlaybookSpec):
    offsets = [step.due_offset_days for step in playbook.steps]
    assert all(isinstance(offset, int) and offset >= 0 for offset in offsets)
    assert all(a <= b for a, b in pairwise(offsets))
    assert offsets[-1] <= playbook.expected_duration_days


@by_playbook
def test_exit_criteria(playbook: PlaybookSpec):
    criteria = playbook.exit_criteria
    assert 2 <= len(criteria) <= 4
    keys = [criterion.key for criterion in criteria]
    assert len(set(keys)) == len(keys)
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", key) for key in keys)
    assert any(criterion.check is None for criterion in criteria)
    assert any(criterion.check is not None for criterion in criteria)
    kpis = kpis_by_key()
    for criterion in criteria:
        assert len(criterion.description) >= 40, criterion.key
        check = criterion.check
        if check is None:
            continue
        assert check["type"] in CHECK_FIELDS, criterion.key
        assert set(check) == {"type"} | CHECK_FIELDS[check["type"]], criterion.key
        if "kpi" in check:
            kpi = kpis[check["kpi"]]
            assert kpi.min_value <= check["value"] <= kpi.max_value, criterion.key
        if "band" in check:
            assert check["band"] in BANDS
        if "score" in check:
            assert 0 <= check["score"] <= 100


@by_playbook
def test_triggers(playbook: PlaybookSpec):
    assert 1 <= len(playbook.triggers) <= 2
    kpis = kpis_by_key()
    for trigger in playbook.triggers:
        condition = trigger.condition
        assert trigger.action in {"auto_start", "suggest"}
        assert isinstance(trigger.cooldown_days, int) and trigger.cooldown_days > 0
        assert condition["type"] in CONDITION_FIELDS
        assert set(condition) == {"type"} | CONDITION_FIELDS[condition["type"]]
        if "kpi" in condition:
            kpi = kpis[condition["kpi"]]
            assert kpi.min_value <= condition["value"] <= kpi.max_value
        if "bands" in condition:
            assert condition["bands"] and set(condition["bands"]) <= BANDS
        if "rule" in condition:
            assert condition["rule"] in INSIGHT_RULES
        if condition["type"] == "score_drop":
            assert condition["points"] > 0 and condition["months"] > 0
        if condition["type"] == "renewal_within":
            assert condition["days"] > 0


def test_every_kpi_key_used_exists_in_the_kpi_catalog():
    used = {
        condition["kpi"]
        for playbook in DEFAULT_PLAYBOOKS
        for condition in [c.check for c in playbook.exit_criteria if c.check]
        + [t.condition for t in playbook.triggers]
        if "kpi" in condition
    }
    assert used and used <= set(kpis_by_key())


def test_specs_are_immutable():
    playbook = DEFAULT_PLAYBOOKS[0]
    with pytest.raises(AttributeError):
        playbook.name = "Other"  # type: ignore[misc]
    assert isinstance(playbook.steps, tuple) and isinstance(playbook.exit_criteria, tuple)
