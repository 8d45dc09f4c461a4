"""The health engine, without a database."""

import pytest

from kpis.scoring import KpiRule, ModelRules, band_of, drivers, explanation, kpi_score, score_account, slope

ADOPTION = KpiRule("adoption", "Usage", "higher", "high", 1.0, worst=0, critical=40, healthy=70, best=100)
TICKETS = KpiRule("tickets", "Support", "lower", "medium", 1.0, worst=50, critical=20, healthy=10, best=0)
LOGINS = KpiRule("logins", "Usage", "higher", "low", 2.0, worst=0, critical=4, healthy=10, best=20)
RULES = [ADOPTION, TICKETS, LOGINS]
MODEL = ModelRules(category_weights={"Usage": 60, "Support": 40})
CAP_HIGH_CRITICAL = {"name": "cap", "impact": "high", "kpi_band": "critical", "cap_band": "risk"}


@pytest.mark.parametrize(
    ("value", "score"),
    [(-5, 0), (0, 0), (20, 20), (40, 40), (55, 55), (70, 70), (85, 85), (100, 100), (130, 100)],
)
def test_a_higher_is_better_kpi_scores_along_its_range_and_clamps(value, score):
    assert kpi_score(ADOPTION, value) == pytest.approx(score)


@pytest.mark.parametrize(
    ("value", "score"),
    [(80, 0), (50, 0), (35, 20), (20, 40), (15, 55), (10, 70), (5, 85), (0, 100), (-3, 100)],
)
def test_a_lower_is_better_kpi_scores_along_its_range_and_clamps(value, score):
    assert kpi_score(TICKETS, value) == pytest.approx(score)


def test_each_segment_maps_to_its_band():
    assert kpi_score(LOGINS, 2) == pytest.approx(20)  # half way to critical → half of 0–40
    assert kpi_score(LOGINS, 7) == pytest.approx(55)  # half way critical→healthy → 40–70
    assert kpi_score(LOGINS, 15) == pytest.approx(85)
    assert [band_of(s) for s in (39.99, 40, 69.99, 70)] == ["critical", "risk", "risk", "healthy"]


def test_categories_average_by_weight_times_impact_and_the_account_by_category_weight():
    health = score_account(RULES, {"adoption": 80, "logins": 4, "tickets": 10}, MODEL)

    # Usage: adoption 80 (1.0 × 1.5) and logins 40 (2.0 × 0.5): (120 + 40) / 2.5 = 64
    assert health.category_scores == pytest.approx({"Usage": 64.0, "Support": 70.0})
    assert health.score == pytest.approx(0.6 * 64 + 0.4 * 70)
    assert health.band == "risk" and health.coverage == pytest.approx(100)


def test_a_missing_kpi_is_left_out_and_its_weight_redistributed_within_its_category():
    health = score_account(RULES, {"adoption": 80, "tickets": 10}, MODEL)

    assert health.category_scores["Usage"] == pytest.approx(80)
    assert health.score == pytest.approx(0.6 * 80 + 0.4 * 70)
    # logins carries 2.0 × 0.5 of Usage's 2.5 (40%) of Usage's 60% of the model
    assert health.missing == [{"kpi": "logins", "category": "Usage", "weight_pct": 24.0}]
    assert health.coverage == pytest.approx(76)


def test_a_category_without_data_is_left_out_across_categories():
    health = score_account(RULES, {"adoption": 80, "logins": 4}, MODEL)

    assert set(health.category_scores) == {"Usage"}
    assert health.score == pytest.approx(64)
    assert health.coverage == pytest.approx(60)


def test_score_zero_rule_counts_missing_kpis_as_zero():
    model = ModelRules(category_weights={"Usage": 60, "Support": 40}, missing_data_rule="score_zero")
    health = score_account(RULES, {"adoption": 80, "logins": 4}, model)
    assert health.category_scores["Support"] == 0
    assert health.score == pytest.approx(0.6 * 64)


def test_an_override_caps_the_account_and_says_so():
    model = ModelRules(category_weights={"Usage": 60, "Support": 40}, override_rules=(CAP_HIGH_CRITICAL,))
    health = score_account(RULES, {"adoption": 30, "logins": 20, "tickets": 0}, model)

    # adoption critical (30); raw score = 0.6 × (45 + 100) / 2.5 + 0.4 × 100 = 74.8
    assert health.score == pytest.approx(69.99) and health.band == "risk"
    assert health.overrides == [
        {"rule": "cap", "kpis": ["adoption"], "from": pytest.approx(74.8), "to": 69.99}
    ]


def test_an_override_does_not_fire_for_other_impacts_or_lower_scores():
    model = ModelRules(category_weights={"Usage": 1, "Support": 1}, override_rules=(CAP_HIGH_CRITICAL,))
    assert (
        score_account(RULES, {"adoption": 80, "logins": 1, "tickets": 0}, model).overrides == []
    )  # low impact
    assert (
        score_account(RULES, {"adoption": 10, "logins": 1, "tickets": 50}, model).overrides == []
    )  # already lower


@pytest.mark.parametrize(
    "values",
    [
        {"adoption": 80, "logins": 4, "tickets": 10},
        {"adoption": 12.5, "logins": 19, "tickets": 33},
        {"adoption": 30, "logins": 20, "tickets": 0},
        {"tickets": 7},
    ],
)
def test_the_explanation_adds_up_to_the_score(values):
    model = ModelRules(category_weights={"Usage": 60, "Support": 40}, override_rules=(CAP_HIGH_CRITICAL,))
    health = score_account(RULES, values, model)
    told = explanation(health, None)

    assert sum(k["points"] for k in told["kpis"]) + told["adjustment_points"] == pytest.approx(
        health.score, abs=0.01
    )
    assert sum(k["weight_pct"] for k in told["kpis"]) == pytest.approx(100, abs=0.05)


def test_drivers_name_the_kpis_that_moved_the_score_most():
    before = score_account(RULES, {"adoption": 80, "logins": 10, "tickets": 10}, MODEL)
    after = score_account(RULES, {"adoption": 40, "logins": 9, "tickets": 30}, MODEL)

    top = drivers(after, before)
    # tickets 70 → 26.7 points × 40%; adoption 80 → 40 × 36%; logins 70 → 65 × 24%
    assert [d["kpi"] for d in top] == ["tickets", "adoption", "logins"]
    assert top[1]["from"] == 80 and top[1]["to"] == 40
    assert sum(d["points"] for d in top) == pytest.approx(after.score - before.score, abs=0.02)
    assert explanation(after, before)["change"] == pytest.approx(after.score - before.score, abs=0.01)


def test_slope_is_points_per_month():
    assert slope([50, 60, 70]) == pytest.approx(10)
    assert slope([70, 70]) == 0
    assert slope([80]) == 0


def test_the_stored_explanation_reads_back_as_json_dumps_wrote_it():
    """Snapshots' JSON is written by orjson now: what PostgreSQL stores and readers get back
    must be what json.dumps wrote, learned-model drivers (numpy floats) included."""
    import json

    import numpy as np

    from kpis.recompute import compact_json

    any_critical = {"name": "any critical", "kpi_band": "critical", "cap_band": "critical"}
    model = ModelRules(category_weights={"Usage": 60, "Support": 40}, override_rules=(any_critical,))
    before = score_account(RULES, {"adoption": 90, "logins": 15, "tickets": 12.25}, model)
    after = score_account(RULES, {"adoption": 75.5, "logins": 1e-05}, model)
    told = explanation(after, before) | {
        "churn_probability": 0.1234,
        "churn_drivers": [{"feature": "kpi:adoption", "contribution": np.float64(-0.0001234)}],
    }
    assert told["overrides"] and told["missing"] and told["drivers"]  # every part present

    assert json.loads(compact_json(told)) == json.loads(json.dumps(told, separators=(",", ":")))
