"""A believable, reproducible portfolio for the demo tenant.

A demo only convinces if the data tells stories a customer-success manager recognises: a key
account sliding towards a renewal, others growing into an expansion conversation, one
climbing out of trouble, feeds that went quiet. Each account therefore follows a story, drawn
as a health-score curve per category and turned into KPI values through the catalog's
reference ranges, so "declining" really moves every KPI towards its worst value whatever its
direction. A fixed seed keeps the data identical for the same `today`, so demos, screenshots
and tests agree.
"""

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import NamedTuple

from kpis.catalog import DEFAULT_KPIS, FINANCIAL, USAGE, CatalogKpi

SEED = 20240517
CSMS = ["Maya Patel", "Jordan Reyes", "Elena Novak", "Samuel Okafor", "Chris Lindqvist"]
INTEGER_UNITS = {"count", "contacts", "tickets/month", "meetings/quarter"}
ARR_RANGES = {"enterprise": (400_000, 2_000_000), "mid": (80_000, 400_000), "smb": (20_000, 80_000)}

# Health-score curves as (months before the latest period, score) knots, per category
# ("*" for the rest); scores are flat before the first knot and linear between knots.
Curve = dict[str, list[tuple[int, float]]]
CURVES: dict[str, Curve] = {
    "steady_healthy": {"*": [(17, 80), (0, 80)]},
    "declining": {
        "*": [(17, 78), (6, 76), (0, 28)],
        FINANCIAL: [(17, 80), (6, 79), (0, 42)],  # money lags behind usage and sentiment
    },
    "sharp_decline": {
        "*": [(17, 80), (6, 76), (2, 72), (0, 20)],
        FINANCIAL: [(17, 80), (2, 76), (0, 45)],
    },
    "expanding": {
        "*": [(17, 80), (0, 84)],
        USAGE: [(17, 66), (4, 68), (0, 98)],
        FINANCIAL: [(17, 76), (4, 78), (0, 90)],
    },
    "recovering": {"*": [(17, 76), (11, 72), (8, 38), (5, 40), (0, 74)]},
    "gappy": {"*": [(17, 76), (0, 76)]},
    "volatile": {"*": [(17, 66), (0, 66)]},
}
NOISE = {"volatile": 11.0}  # standard deviation in score points; 3 for every other curve


@dataclass(frozen=True)
class DemoAccount:
    external_id: str
    name: str
    revenue: Decimal  # ARR
    industry: str
    region: str
    status: str  # "active" | "onboarding" | "churned"
    renewal_date: date
    owner: str
    story: str  # "steady_healthy" | "declining" | "expanding" | "recovering" | "gappy" | "volatile"


@dataclass(frozen=True)
class DemoDataset:
    accounts: list[DemoAccount]
    values: list[tuple[str, str, date, float]]  # (external_id, kpi_key, period, value)


class _Profile(NamedTuple):
    name: str
    industry: str
    region: str
    story: str
    size: str  # a key of ARR_RANGES
    status: str = "active"
    curve: str = ""  # defaults to the story's curve
    renews_soon: bool = False  # renewal within 90 days
    history: int = 0  # months of data for new customers; 0 = all
    silent_months: int = 0  # latest months in which the account's data feed delivered nothing


PROFILES = [
    _Profile(
        "TechCorp Solutions",
        "Software",
        "North America",
        "declining",
        "enterprise",
        curve="sharp_decline",
        renews_soon=True,
    ),
    _Profile("Acme Corp", "Manufacturing", "North America", "expanding", "enterprise"),
    _Profile("Northwind Traders", "Retail", "North America", "steady_healthy", "mid"),
    _Profile(
        "Meridian Health Partners", "Healthcare", "North America", "declining", "enterprise", renews_soon=True
    ),
    _Profile("Harborview Capital", "Financial Services", "EMEA", "steady_healthy", "mid", renews_soon=True),
    _Profile("Bluepeak Analytics", "Software", "EMEA", "expanding", "mid"),
    _Profile("Crestline Manufacturing", "Manufacturing", "EMEA", "recovering", "mid"),
    _Profile("Lumen Learning Group", "Education", "North America", "gappy", "smb", silent_months=2),
    _Profile("Sableridge Insurance", "Financial Services", "North America", "declining", "enterprise"),
    _Profile("Orchard Retail Co.", "Retail", "EMEA", "volatile", "mid"),
    _Profile("Kestrel Components", "Manufacturing", "APAC", "steady_healthy", "mid"),
    _Profile("Pinecrest University System", "Education", "North America", "steady_healthy", "mid"),
    _Profile("Vantage Cloud Systems", "Software", "APAC", "expanding", "enterprise"),
    _Profile("Solano Medical Devices", "Healthcare", "LATAM", "steady_healthy", "smb"),
    _Profile(
        "Brightwater Outfitters",
        "Retail",
        "North America",
        "declining",
        "smb",
        status="churned",
        renews_soon=True,
    ),
    _Profile("Atlas Payments", "Financial Services", "LATAM", "volatile", "mid"),
    _Profile("Fernhill Clinics", "Healthcare", "EMEA", "gappy", "smb"),
    _Profile("Quarry Point Software", "Software", "North America", "recovering", "mid"),
    _Profile("Tidewater Bank", "Financial Services", "North America", "steady_healthy", "enterprise"),
    _Profile("Novaterra Foods", "Retail", "LATAM", "steady_healthy", "smb"),
    _Profile("Halcyon Schools Network", "Education", "APAC", "steady_healthy", "smb"),
    _Profile("Ironbridge Industrial", "Manufacturing", "North America", "declining", "mid"),
    _Profile("Nimbus Health", "Healthcare", "APAC", "expanding", "mid", status="onboarding", history=8),
    _Profile(
        "Corvid Data Labs", "Software", "EMEA", "steady_healthy", "smb", status="onboarding", history=10
    ),
    _Profile("Redwood Mutual", "Financial Services", "North America", "steady_healthy", "mid"),
]


def demo_dataset(today: date, months: int = 18) -> DemoDataset:
    """25 accounts with up to `months` monthly values per KPI, ending the month before `today`."""
    rng = random.Random(SEED)
    periods = month_starts(today, months)
    accounts, values = [], []
    for index, profile in enumerate(PROFILES):
        account = _account(rng, index, profile, today)
        accounts.append(account)
        values += _account_values(rng, account.external_id, profile, periods)
    return DemoDataset(accounts, values)


def month_starts(today: date, months: int) -> list[date]:
    """The first days of the `months` months before `today`'s month, oldest first."""
    current = today.year * 12 + today.month - 1
    return [date(month // 12, month % 12 + 1, 1) for month in range(current - months, current)]


def _account(rng: random.Random, index: int, profile: _Profile, today: date) -> DemoAccount:
    low, high = ARR_RANGES[profile.size]
    arr = math.exp(rng.uniform(math.log(low), math.log(high)))
    renewal_days = rng.randint(60, 88) if profile.renews_soon else rng.randint(60, 425)
    return DemoAccount(
        external_id=f"ACC-{index + 1:03d}",
        name=profile.name,
        revenue=Decimal(f"{arr:.2f}"),
        industry=profile.industry,
        region=profile.region,
        status=profile.status,
        renewal_date=today + timedelta(days=renewal_days),
        owner=CSMS[index % len(CSMS)],
        story=profile.story,
    )


def _account_values(rng: random.Random, external_id: str, profile: _Profile, periods: list[date]) -> list:
    curve = CURVES[profile.curve or profile.story]
    noise = NOISE.get(profile.story, 3.0)
    level = rng.uniform(-4, 4)
    missing = _missing(rng, profile, len(periods))
    first = max(0, len(periods) - profile.history) if profile.history else 0
    rows = []
    for kpi in DEFAULT_KPIS:
        offset = max(-7.0, min(7.0, rng.gauss(0, 3.5)))
        knots = curve.get(kpi.category, curve["*"])
        for index in range(first, len(periods)):
            score = _interpolate(knots, len(periods) - 1 - index) + level + offset + rng.gauss(0, noise)
            if (kpi.key, index) not in missing:
                rows.append((external_id, kpi.key, periods[index], _value(kpi, score)))
    return rows


def _missing(rng: random.Random, profile: _Profile, months: int) -> set[tuple[str, int]]:
    """(kpi_key, period index) pairs a flaky feed never delivered: 2–4 month holes in six KPIs
    of a gappy account, plus everything in its silent months."""
    missing = {
        (kpi.key, index) for kpi in DEFAULT_KPIS for index in range(months - profile.silent_months, months)
    }
    if profile.story != "gappy":
        return missing
    for kpi in rng.sample(DEFAULT_KPIS, 6):
        length = rng.randint(2, 4)
        start = rng.randint(0, max(0, months - length))
        missing |= {(kpi.key, index) for index in range(start, start + length)}
    return missing


def _interpolate(knots: list[tuple[int, float]], months_ago: int) -> float:
    """The curve's score `months_ago` months before the latest period (the last knot is at 0)."""
    months_ago = min(months_ago, knots[0][0])  # flat before the first knot
    (ago_a, score_a), (ago_b, score_b) = next(pair for pair in pairwise(knots) if months_ago >= pair[1][0])
    return score_a + (score_b - score_a) * (ago_a - months_ago) / (ago_a - ago_b)


def _value(kpi: CatalogKpi, score: float) -> float:
    """The KPI value for a health score, kept within the KPI's physical bounds and sensibly rounded."""
    value = kpi.value_at_score(max(-10.0, min(110.0, score)))
    value = max(kpi.min_value, min(kpi.max_value, value))
    return float(round(value)) if kpi.unit in INTEGER_UNITS else round(value, 1)
