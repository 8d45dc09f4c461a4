"""The backtest and the learned model as pure computation: no leakage, the gates, the folds."""

import datetime as dt

import numpy as np
import pytest

from kpis.backtest import (
    MIN_CHURNS,
    Renewal,
    Thresholds,
    activation_refusal,
    auc,
    dataset_build,
    prove,
    rolling_origin_folds,
)
from kpis.churn import FeatureSpace, latest_index
from kpis.defaults import DEFAULT_CATEGORY_WEIGHTS, DEFAULT_RENEWAL_PROBABILITIES
from kpis.renewal_history import book_generate, rules_of
from kpis.scoring import ModelRules, Scorer

TODAY = dt.date(2026, 11, 23)
THRESHOLDS = Thresholds(70, 40, DEFAULT_RENEWAL_PROBABILITIES)


def tools():
    book = book_generate(1, TODAY)
    rules = rules_of(book.kpis)
    return Scorer(rules, ModelRules(DEFAULT_CATEGORY_WEIGHTS)), FeatureSpace(rules)


def histories_of(book) -> dict[int, list]:
    keys = [kpi.key for kpi in book.kpis]
    return {
        a: [
            (p, dict(zip(keys, book.values[a, m].tolist(), strict=True)))
            for m, p in enumerate(book.periods)
            if not np.isnan(book.values[a, m, 0])
        ]
        for a in range(len(book.accounts))
    }


def dataset_of(book):
    scorer, space = tools()
    ids = {account.external_id: index for index, account in enumerate(book.accounts)}
    renewals = [
        Renewal(ids[r.external_id], r.renewal_date, r.outcome == "churned", r.arr_before)
        for r in book.renewals
    ]
    return dataset_build(renewals, histories_of(book), scorer, space)


def one_account_history() -> list:
    periods = [dt.date(2025, month, 1) for month in range(1, 13)]
    return [(period, {"nps": 10.0 + i, "csat": 80.0 - i}) for i, period in enumerate(periods)]


def test_the_score_as_of_a_day_uses_only_months_up_to_it():
    history = one_account_history()

    assert latest_index(history, dt.date(2025, 4, 15)) == 3  # April's data is the latest by then
    assert latest_index(history, dt.date(2024, 12, 31)) is None


def test_moving_a_kpi_value_after_the_as_of_date_changes_nothing():
    scorer, space = tools()
    renewal = [Renewal(1, dt.date(2025, 9, 30), True, 1000.0)]  # as of 2025-07-02: July is the latest month
    before = dataset_build(renewal, {1: one_account_history()}, scorer, space)
    moved = one_account_history()
    for period, values in moved:
        if period > dt.date(2025, 7, 2):
            values["nps"], values["csat"] = -100.0, 0.0

    after = dataset_build(renewal, {1: moved}, scorer, space)

    assert after.rules_score.tolist() == before.rules_score.tolist()
    np.testing.assert_array_equal(after.features, before.features)
    moved[6][1]["nps"] = -100.0  # July itself is known by then: moving it must show
    assert dataset_build(renewal, {1: moved}, scorer, space).rules_score[0] < before.rules_score[0]


def test_a_renewal_without_data_before_its_as_of_day_is_counted_unscored():
    scorer, space = tools()
    data = dataset_build(
        [Renewal(1, dt.date(2025, 2, 28), False, 10.0)], {1: one_account_history()}, scorer, space
    )

    assert (len(data.churned), data.unscored) == (0, 1)


def test_each_fold_trains_only_on_earlier_quarters():
    data = dataset_of(book_generate(200, TODAY))
    quarters = data.quarters

    folds = rolling_origin_folds(data)

    assert len(folds) >= 8
    for fold in folds:
        assert quarters[fold.train].max() < quarters[fold.test].min() == quarters[fold.test].max()


def test_with_few_churns_the_learned_model_is_unproven_and_may_not_replace_the_rules():
    data = dataset_of(book_generate(20, TODAY))
    assert data.churned.sum() < MIN_CHURNS

    proof = prove(data, THRESHOLDS)

    assert not proof.proven
    assert f"at least {MIN_CHURNS}" in proof.verdict
    refusal = activation_refusal(
        proven=proof.proven, verdict=proof.verdict, learned=proof.learned_card, rules=proof.rules_card
    )
    assert refusal == proof.verdict


def test_a_proven_model_that_does_not_beat_the_rules_is_refused_with_the_reason():
    rules = {"auc": 0.80, "critical_lift": 3.0}

    weaker_auc = activation_refusal(
        proven=True, verdict="", learned={"auc": 0.78, "critical_lift": 5.0}, rules=rules
    )
    weaker_lift = activation_refusal(
        proven=True,
        verdict="",
        learned={"auc": 0.85, "critical_lift": 2.0, "critical_lift_at_rules_share": 2.5},
        rules=rules,
    )
    better = activation_refusal(
        proven=True,
        verdict="",
        learned={"auc": 0.85, "critical_lift": 2.0, "critical_lift_at_rules_share": 3.5},
        rules=rules,
    )

    assert "AUC 0.78 does not beat the rules' 0.8" in weaker_auc
    assert "lift 2.5 does not beat the rules' 3.0" in weaker_lift
    assert better is None


def test_the_learned_model_approaches_the_known_models_auc_and_beats_the_rules():
    book = book_generate(600, TODAY)
    data = dataset_of(book)

    proof = prove(data, THRESHOLDS)

    folds = rolling_origin_folds(data)
    tested = np.concatenate([fold.test for fold in folds])
    truth = np.array([r.churn_probability for r in book.renewals])
    ceiling = auc(data.churned[tested], truth[tested])
    assert proof.proven, proof.verdict
    assert proof.learned_card["auc"] > ceiling - 0.05
    assert proof.learned_card["auc"] > proof.rules_card["auc"]
    assert proof.learned_card["renewals"] == proof.rules_card["renewals"] == len(tested)


def test_the_report_card_has_every_figure():
    card = prove(dataset_of(book_generate(300, TODAY)), THRESHOLDS).rules_card

    assert card["churns"] <= card["renewals"]
    low, high = card["auc_ci"]
    assert low <= card["auc"] <= high
    assert 0 < card["pr_auc"] <= 1
    assert sum(band["book_share"] for band in card["bands"].values()) == pytest.approx(1, abs=0.001)
    assert card["bands"]["critical"]["churn_rate"] / card["base_churn_rate"] == pytest.approx(
        card["critical_lift"], abs=0.01
    )
    assert 0 <= card["churned_arr_flagged_60d"] <= 1
    assert [point["predicted"] for point in card["reliability"]] == sorted(
        DEFAULT_RENEWAL_PROBABILITIES.values()
    )
    assert {"quarter", "renewals", "churns", "auc"} <= set(card["folds"][0])
