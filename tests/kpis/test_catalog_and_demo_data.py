"""The default catalog and the demo dataset, without a database."""

from collections import Counter, defaultdict
from datetime import date
from itertools import pairwise
from statistics import mean

import pytest

from kpis.catalog import (
    BEST_PRACTICES,
    CATEGORIES,
    DEFAULT_KPIS,
    INDUSTRIES,
    INDUSTRY_BENCHMARKS,
    CatalogKpi,
    kpis_by_key,
)
from kpis.demo_data import demo_dataset

TODAY = date(2025, 3, 14)
KPIS = kpis_by_key()


@pytest.fixture(scope="module")
def dataset():
    return demo_dataset(TODAY)


def position(kpi: CatalogKpi, value: float) -> float:
    """0 at the KPI's worst value, 1 at its best, whatever its direction."""
    return (value - kpi.worst) / (kpi.best - kpi.worst)


def series(dataset, external_id: str) -> dict[date, dict[str, float]]:
    by_period = defaultdict(dict)
    for account_id, key, period, value in dataset.values:
        if account_id == external_id:
            by_period[period][key] = value
    return dict(sorted(by_period.items()))


def test_the_catalog_has_25_kpis_five_per_category_with_unique_keys():
    assert len(DEFAULT_KPIS) == 25
    assert Counter(kpi.category for kpi in DEFAULT_KPIS) == {category: 5 for category in CATEGORIES}
    assert len(KPIS) == 25


@pytest.mark.parametrize("kpi", DEFAULT_KPIS, ids=lambda kpi: kpi.key)
def test_a_kpi_has_ordered_thresholds_within_its_bounds(kpi):
    anchors = [kpi.worst, kpi.critical, kpi.healthy, kpi.best]
    if kpi.direction == "lower":
        anchors.reverse()
    assert kpi.direction in ("higher", "lower")
    assert anchors == sorted(set(anchors)), "thresholds must strictly improve towards best"
    assert kpi.min_value <= min(anchors) and max(anchors) <= kpi.max_value
    assert kpi.impact in ("high", "medium", "low") and 0.5 <= kpi.weight <= 2.0
    assert kpi.frequency in ("monthly", "quarterly") and kpi.description.endswith(".")


def test_every_category_has_at_least_two_high_impact_kpis():
    high = Counter(kpi.category for kpi in DEFAULT_KPIS if kpi.impact == "high")
    assert all(high[category] >= 2 for category in CATEGORIES)


def test_value_at_score_inverts_the_reference_range():
    delay = KPIS["payment_delay_days"]
    assert [delay.value_at_score(s) for s in (0, 40, 70, 100)] == [90, 30, 10, 0]
    assert delay.value_at_score(55) == pytest.approx(20)


def test_best_practices_cover_every_kpi_and_category_in_both_bands():
    covered = {(p.kpi_key, p.band) for p in BEST_PRACTICES}
    assert {(key, band) for key in KPIS for band in ("risk", "critical")} <= covered
    assert {p.category for p in BEST_PRACTICES if p.kpi_key is None} == set(CATEGORIES)
    for practice in BEST_PRACTICES:
        assert practice.kpi_key is None or KPIS[practice.kpi_key].category == practice.category
        assert practice.title and practice.advice.count(". ") >= 1


def test_benchmarks_cover_every_industry_and_kpi_with_ordered_quartiles():
    pairs = Counter((b.industry, b.kpi_key) for b in INDUSTRY_BENCHMARKS)
    assert set(pairs) == {(industry, key) for industry in INDUSTRIES for key in KPIS}
    assert set(pairs.values()) == {1}
    for b in INDUSTRY_BENCHMARKS:
        kpi = KPIS[b.kpi_key]
        assert b.p25 <= b.median <= b.p75
        assert 0 < position(kpi, b.median) < 1, "a median sits between worst and best"


def test_the_demo_dataset_is_deterministic(dataset):
    assert demo_dataset(TODAY) == dataset


def test_the_demo_has_25_accounts_led_by_techcorp_and_acme(dataset):
    names = [account.name for account in dataset.accounts]
    assert len(names) == 25 == len(set(names))
    assert names[:2] == ["TechCorp Solutions", "Acme Corp"]
    assert [a.external_id for a in dataset.accounts][:2] == ["ACC-001", "ACC-002"]
    assert {a.industry for a in dataset.accounts} <= set(INDUSTRIES)
    assert sum(a.status == "churned" for a in dataset.accounts) <= 1


def test_accounts_renew_within_2_to_14_months_and_techcorp_within_90_days(dataset):
    days = {a.name: (a.renewal_date - TODAY).days for a in dataset.accounts}
    assert all(60 <= d <= 14 * 31 for d in days.values())
    assert days["TechCorp Solutions"] <= 90
    assert all(20_000 <= a.revenue <= 2_000_000 for a in dataset.accounts)


def test_periods_are_the_18_months_before_todays_month(dataset):
    periods = sorted({period for _, _, period, _ in dataset.values})
    assert len(periods) == 18
    assert periods[0] == date(2023, 9, 1) and periods[-1] == date(2025, 2, 1)
    assert all(period.day == 1 for period in periods)


def test_about_every_value_is_there_except_for_gaps(dataset):
    full = 25 * 25 * 18
    keys = [(account_id, key, period) for account_id, key, period, _ in dataset.values]
    assert len(keys) == len(set(keys))
    assert 0.9 * full <= len(keys) < full


def test_every_value_is_within_its_kpis_bounds_and_rounded(dataset):
    for _, key, _, value in dataset.values:
        kpi = KPIS[key]
        assert kpi.min_value <= value <= kpi.max_value
        assert value == round(value, 1)


def test_declining_accounts_really_decline(dataset):
    declining = [a for a in dataset.accounts if a.story == "declining"]
    assert len(declining) >= 3
    for account in declining:
        months = list(series(dataset, account.external_id).values())
        early = mean(position(KPIS[k], v) for month in months[:6] for k, v in month.items())
        late = mean(position(KPIS[k], v) for month in months[-3:] for k, v in month.items())
        assert late < early - 0.15, account.name


def test_techcorp_falls_sharply_in_the_last_two_months(dataset):
    months = list(series(dataset, "ACC-001").values())
    level = [mean(position(KPIS[k], v) for k, v in month.items()) for month in months]
    assert level[-1] < level[-2] < level[-3] - 0.1


def test_expanding_accounts_grow_product_usage_by_a_fifth_over_three_months(dataset):
    usage = [key for key, kpi in KPIS.items() if kpi.category == "Product Usage"]
    for account in (a for a in dataset.accounts if a.story == "expanding"):
        months = list(series(dataset, account.external_id).values())
        growth = mean(months[-1][key] / months[-4][key] - 1 for key in usage)
        assert growth >= 0.2, account.name


def test_gappy_accounts_miss_some_kpis_for_two_consecutive_months(dataset):
    periods = sorted({period for _, _, period, _ in dataset.values})
    gappy = [a for a in dataset.accounts if a.story == "gappy"]
    assert len(gappy) == 2
    for account in gappy:
        months = series(dataset, account.external_id)
        present = {key: [key in months.get(period, {}) for period in periods] for key in KPIS}
        assert any(_two_missing_in_a_row(flags) for flags in present.values()), account.name


def _two_missing_in_a_row(flags: list[bool]) -> bool:
    return any(not a and not b for a, b in pairwise(flags))
