"""The effect estimate (playbooks/effect.py): difference of means with a bootstrap interval."""

import numpy as np

from playbooks.effect import MIN_RAN, estimate, seed_for, sentence


def groups(n_ran: int, n_comparison: int, effect: float, seed: int = 7) -> tuple[list, list]:
    rng = np.random.default_rng(seed)
    return list(rng.normal(effect, 8, n_ran)), list(rng.normal(0, 8, n_comparison))


def test_the_interval_narrows_as_accounts_are_added():
    widths = []
    for n in (40, 160, 640, 2560):
        ran, comparison = groups(n, n // 4, effect=5)
        found = estimate(ran, comparison, seed=1)
        widths.append(found.high - found.low)
    assert widths == sorted(widths, reverse=True)
    assert widths[-1] < widths[0] / 4


def test_the_same_data_gives_the_same_interval_and_another_seed_a_slightly_different_one():
    ran, comparison = groups(40, 10, effect=5)
    first = estimate(ran, comparison, seed=seed_for("renewal_safeguard", 60))
    assert estimate(ran, comparison, seed=seed_for("renewal_safeguard", 60)) == first
    other = estimate(ran, comparison, seed=seed_for("voc_sprint", 60))
    assert other.effect == first.effect and (other.low, other.high) != (first.low, first.high)


def test_verdicts_follow_the_interval():
    assert estimate(*groups(400, 100, effect=10), seed=1).verdict == "helps"
    assert estimate(*groups(400, 100, effect=-10), seed=1).verdict == "hurts"
    assert estimate(*groups(4000, 1000, effect=0), seed=1).verdict == "no_effect"
    assert estimate(*groups(30, 10, effect=0), seed=1).verdict == "uncertain"


def test_too_few_runs_give_no_figure_and_say_how_many_are_needed():
    found = estimate(*groups(3, 9, effect=10), seed=1)
    assert found.verdict == "not_enough" and found.effect is None and found.low is None
    assert (
        sentence("Renewal Safeguard", found)
        == f"Renewal Safeguard: not enough runs yet: 3 of the {MIN_RAN} needed."
    )


def test_the_sentence_gives_effect_interval_and_counts():
    found = estimate([12.0] * 21 + [10.0] * 21, [0.0, 1.0, -1.0, 2.0, -2.0, 0.0, 0.0, 1.0, -1.0, 0.0], seed=1)
    text = sentence("Renewal Safeguard", found, window=60)
    assert text.startswith("Renewal Safeguard: +11 points at 60 days (95% CI +")
    assert text.endswith(", 42 vs 10 accounts): it helps.")


def test_a_figure_that_rounds_to_zero_reads_plus_zero():
    found = estimate([-0.3] * 25, [0.0] * 12, seed=1)
    assert sentence("VoC Sprint", found, window=60).startswith(
        "VoC Sprint: +0 points at 60 days (95% CI +0 to +0"
    )
