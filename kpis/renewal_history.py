"""A book of accounts with years of KPI history and renewal outcomes drawn from a known churn
model: pure computation (numpy), no Django.

The demo tenant gets one, so its report card has something to measure; bench/health_proof.py
generates bigger ones, where knowing the true churn probability of every renewal gives the best
AUC any model could reach (the ceiling). Each account has a latent health per category that
wanders month to month (with an occasional slump); its KPIs follow that health along their
reference ranges, with noise. At each yearly renewal the true churn probability is a logistic
function of what was observable 90 days before (the learned model's own features), weighted
unlike the rules: usage, NPS, the champion and usage's trend matter most. The outcome is drawn
from it, so noise is part of the story, as it is in real books.
"""

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from kpis.backtest import LEAD_DAYS
from kpis.catalog import DEFAULT_KPIS, RELATIONSHIP, USAGE, CatalogKpi
from kpis.churn import FeatureSpace, latest_index, months_back
from kpis.scoring import KpiRule

INTEGER_UNITS = {"count", "contacts", "tickets/month", "meetings/quarter"}
LEAD_MONTHS = 6  # history before the first renewal, so it can be scored 90 days ahead with a trend
# The known model: churn log-odds per feature, on the features' own scales (KPI scores 0–100,
# trends in points); kpis/churn.py computes the same features from the stored values.
TRUE_WEIGHTS = {
    "kpi:active_user_ratio": -0.03,
    "kpi:license_utilization": -0.02,
    "kpi:champion_strength": -0.03,
    "kpi:nps": -0.02,
    f"trend:{USAGE}": -0.15,
    f"trend:{RELATIONSHIP}": -0.08,
}
TRUE_INTERCEPT = 5.0  # about one renewal in six churns
WORDS = (
    [
        "Apex",
        "Birch",
        "Cobalt",
        "Delta",
        "Ember",
        "Fjord",
        "Granite",
        "Harbor",
        "Indigo",
        "Juniper",
        "Keystone",
        "Lattice",
        "Maple",
        "Nimbus",
        "Onyx",
        "Prairie",
        "Quartz",
        "Ridge",
        "Summit",
        "Tundra",
    ],
    [
        "Logistics",
        "Dental",
        "Foods",
        "Robotics",
        "Media",
        "Energy",
        "Insurance",
        "Textiles",
        "Labs",
        "Freight",
        "Pharma",
        "Studios",
        "Telecom",
        "Metals",
        "Travel",
    ],
)


@dataclass(frozen=True)
class BookAccount:
    external_id: str
    name: str
    revenue: float  # current ARR
    status: str  # "active" | "churned"
    renewal_date: date  # the next one (active) or the one it churned at
    industry: str
    region: str


@dataclass(frozen=True)
class BookRenewal:
    external_id: str
    renewal_date: date
    outcome: str
    arr_before: float
    arr_after: float | None
    churn_probability: float  # the known model's, for the ceiling


@dataclass
class Book:
    periods: list[date]
    accounts: list[BookAccount]
    renewals: list[BookRenewal]
    values: np.ndarray  # (account, month, kpi); NaN after an account churned
    kpis: list[CatalogKpi]

    def value_rows(self) -> Iterator[tuple[str, str, date, float]]:
        """(external_id, kpi key, period, value) for every stored value."""
        for a, account in enumerate(self.accounts):
            for m, period in enumerate(self.periods):
                if not np.isnan(self.values[a, m, 0]):
                    for k, kpi in enumerate(self.kpis):
                        yield account.external_id, kpi.key, period, float(self.values[a, m, k])


def rules_of(kpis: list[CatalogKpi]) -> list[KpiRule]:
    return [
        KpiRule(k.key, k.category, k.direction, k.impact, k.weight, k.worst, k.critical, k.healthy, k.best)
        for k in kpis
    ]


def book_generate(accounts: int, today: date, years: int = 3, seed: int = 17, prefix: str = "HIST") -> Book:
    """`accounts` accounts with monthly KPI values over `years` years of renewals (plus the lead
    before the first), ending the month before `today`."""
    rng = np.random.default_rng(seed)
    kpis = list(DEFAULT_KPIS)
    periods = _periods(today, 12 * years + LEAD_MONTHS)
    values = _values(rng, kpis, _health(rng, accounts, len(periods), kpis))
    space = FeatureSpace(rules_of(kpis))
    weights = np.array([TRUE_WEIGHTS.get(name, 0.0) for name in space.names])
    book = Book(periods, [], [], values, kpis)
    for index in range(accounts):
        _account_renewals(book, index, rng, space, weights, prefix, today)
    return book


def _periods(today: date, months: int) -> list[date]:
    first = months_back(today.replace(day=1), months)
    return [months_back(first, -offset) for offset in range(months)]


def _health(rng, accounts: int, months: int, kpis: list[CatalogKpi]) -> np.ndarray:
    """Latent health per account, month and category: a level, a random walk and slumps."""
    categories = sorted({kpi.category for kpi in kpis})
    level = rng.normal(68, 12, (accounts, 1, len(categories)))
    walk = np.cumsum(rng.normal(0, 2.5, (accounts, months, len(categories))), axis=1)
    slump_start = rng.integers(0, months * 3, (accounts, 1, 1))  # most accounts never slump
    slump = np.clip(np.arange(months)[None, :, None] - slump_start, 0, 8) * rng.uniform(
        2, 6, (accounts, 1, 1)
    )
    health = level + walk - slump
    index = [categories.index(kpi.category) for kpi in kpis]
    return health[:, :, index]


def _values(rng, kpis: list[CatalogKpi], health: np.ndarray) -> np.ndarray:
    scores = health + rng.normal(0, 6, (health.shape[0], 1, len(kpis))) + rng.normal(0, 5, health.shape)
    values = np.empty_like(scores)
    for k, kpi in enumerate(kpis):
        values[:, :, k] = _value_at(kpi, np.clip(scores[:, :, k], -10, 110))
    return values


def _value_at(kpi: CatalogKpi, scores: np.ndarray) -> np.ndarray:
    """CatalogKpi.value_at_score for an array, clamped to the KPI's bounds and rounded like the demo."""
    anchors = np.array([0.0, 40.0, 70.0, 100.0])
    points = np.array([kpi.worst, kpi.critical, kpi.healthy, kpi.best])
    inner = np.interp(scores, anchors, points)
    low = points[0] + (points[1] - points[0]) * scores / 40
    high = points[2] + (points[3] - points[2]) * (scores - 70) / 30
    value = np.clip(
        np.where(scores < 0, low, np.where(scores > 100, high, inner)), kpi.min_value, kpi.max_value
    )
    return np.round(value) if kpi.unit in INTEGER_UNITS else np.round(value, 1)


def _account_renewals(
    book: Book, index: int, rng, space: FeatureSpace, weights: np.ndarray, prefix: str, today: date
) -> None:
    """Walk the account's yearly renewals, drawing each outcome; a churn ends its data."""
    arr = float(math.exp(rng.uniform(math.log(15_000), math.log(600_000))))
    external_id = f"{prefix}-{index + 1:05d}"
    renewal = _month_end(book.periods[LEAD_MONTHS + int(rng.integers(0, 12))])
    status = "active"
    while renewal < today and status == "active":
        probability = _true_probability(book, index, renewal, space, weights)
        outcome, after = _outcome(rng, probability, arr)
        book.renewals.append(BookRenewal(external_id, renewal, outcome, round(arr, 2), after, probability))
        if after is None:  # churned
            status = "churned"
            book.values[index, [p > renewal for p in book.periods], :] = np.nan
        else:
            arr, renewal = after, _month_end(months_back(renewal.replace(day=1), -12))
    name = f"{WORDS[0][index % 20]} {WORDS[1][(index // 20) % 15]}" + (
        f" {index // 300 + 1}" if index >= 300 else ""
    )
    book.accounts.append(
        BookAccount(
            external_id,
            name,
            round(arr, 2),
            status,
            renewal,
            ["Software", "Retail", "Healthcare", "Manufacturing"][index % 4],
            ["North America", "EMEA", "APAC", "LATAM"][index % 4],
        )
    )


def _true_probability(
    book: Book, index: int, renewal: date, space: FeatureSpace, weights: np.ndarray
) -> float:
    as_of = renewal - timedelta(days=LEAD_DAYS)
    month = latest_index([(p, {}) for p in book.periods], as_of)
    assert month is not None  # the first renewal is LEAD_MONTHS into the periods
    history = [
        (book.periods[m], dict(zip((k.key for k in book.kpis), book.values[index, m], strict=True)))
        for m in range(max(month - 3, 0), month + 1)
    ]
    row = np.nan_to_num(np.array(space.row(history, len(history) - 1)))
    return float(1 / (1 + math.exp(-(TRUE_INTERCEPT + row @ weights))))


def _outcome(rng, probability: float, arr: float) -> tuple[str, float | None]:
    if rng.random() < probability:
        return "churned", None
    if probability > 0.25 and rng.random() < 0.4:
        return "contracted", round(arr * rng.uniform(0.6, 0.95), 2)
    if probability < 0.08 and rng.random() < 0.35:
        return "expanded", round(arr * rng.uniform(1.05, 1.4), 2)
    return "renewed", round(arr, 2)


def _month_end(first_day: date) -> date:
    return months_back(first_day, -1) - timedelta(days=1)
