"""The publication rules on their own: thresholds, dominance, pooling, noise and rounding, and
the differencing attack they exist to defeat."""

import numpy as np
import pytest

from peers.publication import (
    QUANTILE_LEVELS,
    PublishedCell,
    Refusal,
    TenantAggregate,
    cell_publish,
    pooled_quantiles,
    rounding_step,
)


def aggregate(values) -> TenantAggregate:
    return TenantAggregate(len(values), tuple(float(q) for q in np.quantile(values, QUANTILE_LEVELS)))


def tenants(rng, count: int, accounts: int, mean: float = 50.0) -> list[TenantAggregate]:
    return [aggregate(rng.normal(mean, 10, accounts)) for _ in range(count)]


def test_it_refuses_a_cell_with_fewer_than_five_companies():
    result = cell_publish(tenants(np.random.default_rng(1), 4, 20), seed=1)
    assert result == Refusal("fewer than 5 companies")


def test_it_refuses_a_cell_with_fewer_than_fifty_accounts():
    result = cell_publish(tenants(np.random.default_rng(1), 6, 8), seed=1)
    assert result == Refusal("fewer than 50 accounts")


def test_it_refuses_a_cell_one_company_dominates():
    rng = np.random.default_rng(1)
    result = cell_publish([*tenants(rng, 5, 10), aggregate(rng.normal(50, 10, 40))], seed=1)
    assert result == Refusal("one company holds more than 40% of the accounts")


def test_it_publishes_at_exactly_the_thresholds():
    rng = np.random.default_rng(1)
    cell = cell_publish([*tenants(rng, 4, 8), aggregate(rng.normal(50, 10, 18))], seed=1)
    assert isinstance(cell, PublishedCell)
    assert (cell.companies, cell.accounts) == (5, 50)


def test_pooled_quartiles_weigh_tenants_by_accounts():
    low = aggregate(np.linspace(0, 10, 30))
    high = aggregate(np.linspace(100, 110, 10))
    p25, median, p75 = pooled_quantiles([low, high], (0.25, 0.5, 0.75))
    assert median == pytest.approx(6.67, abs=0.2)  # the median lies among the larger tenant's values
    assert p25 < median < p75 < 100


def test_published_quartiles_are_rounded_to_their_step_and_close_to_the_truth():
    rng = np.random.default_rng(7)
    contributions = tenants(rng, 20, 30)
    exact = cell_publish(contributions, seed=3, protect=False)
    cell = cell_publish(contributions, seed=3)
    assert cell.step == rounding_step(cell.p75 - cell.p25)
    for value in (cell.p25, cell.median, cell.p75):
        assert value / cell.step == pytest.approx(round(value / cell.step))
    assert cell.median == pytest.approx(exact.median, abs=3)  # 20 even tenants: little noise needed
    assert cell.accounts == 600


def test_the_same_contributors_and_seed_give_the_same_publication():
    contributions = tenants(np.random.default_rng(2), 6, 12)
    assert cell_publish(contributions, seed=11) == cell_publish(contributions, seed=11)
    assert cell_publish(contributions, seed=11) != cell_publish(contributions, seed=12)


def differencing_attack(trial: int, protect: bool) -> tuple[float, float]:
    """Publish a cell with and without one tenant (two publications, two seeds), and estimate
    that tenant's mean from the difference as an attacker who knows the exact account counts
    would. Returns (the estimate's error, the publication's rounding step)."""
    rng = np.random.default_rng(trial)
    others = [rng.normal(rng.uniform(40, 60), 10, rng.integers(10, 20)) for _ in range(6)]
    target = rng.normal(rng.uniform(20, 80), 10, 15)
    with_target = [aggregate(values) for values in [*others, target]]
    without = with_target[:-1]
    before = cell_publish(with_target, seed=2 * trial, protect=protect)
    after = cell_publish(without, seed=2 * trial + 1, protect=protect)
    n_before, n_after = (sum(a.accounts for a in group) for group in (with_target, without))
    mean_before, mean_after = ((c.p25 + c.median + c.p75) / 3 for c in (before, after))
    estimate = (n_before * mean_before - n_after * mean_after) / (n_before - n_after)
    step = before.step or rounding_step(before.p75 - before.p25)
    return abs(estimate - target.mean()), step


def test_the_difference_of_two_publications_does_not_recover_the_tenant_that_left():
    attacks = [differencing_attack(trial, protect=True) for trial in range(200)]
    recovered = sum(error <= step for error, step in attacks)
    assert recovered <= 0.05 * len(attacks)


def test_without_noise_and_rounding_the_same_attack_comes_close():
    """The control: the attack is a real one, and it is the protection that defeats it."""
    errors = [error / step for error, step in (differencing_attack(t, protect=False) for t in range(200))]
    protected = [error / step for error, step in (differencing_attack(t, protect=True) for t in range(200))]
    assert np.median(errors) < 3
    assert np.median(protected) > 5 * np.median(errors)


def test_noised_quartiles_stay_within_the_kpis_physical_bounds():
    rng = np.random.default_rng(5)
    near_zero = [aggregate(np.abs(rng.normal(0.5, 1, 12))) for _ in range(5)]  # e.g. escalations
    cells = [cell_publish(near_zero, seed=seed, bounds=(0.0, 100.0)) for seed in range(50)]
    assert min(cell.p25 for cell in cells) >= 0
    unbounded = [cell_publish(near_zero, seed=seed) for seed in range(50)]
    assert min(cell.p25 for cell in unbounded) < 0  # without the bounds, noise would go below
