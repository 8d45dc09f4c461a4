"""Pulse's built-in product content: the default KPI catalog, its advice and industry benchmarks.

The content is data, in the TOML files next to this module: kpis.toml (categories and KPIs),
best_practices.toml and benchmarks.toml. It is read once, at import, into the frozen
dataclasses below, and data that breaks a rule the code relies on is refused there with a
CatalogError naming the file and the entry. No database is involved: the demo generator builds
on it, tests check it, and `manage.py catalog_sync` copies it into every tenant schema.

Each KPI carries a reference range (worst → 0, critical → 40, healthy → 70, best → 100
points) that the health engine scores against; the advice and the benchmarks are written
against the same ranges, so the three never tell a customer-success manager contradictory
things.
"""

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from kpis.scoring import ANCHOR_SCORES, IMPACT_MULTIPLIER, Band

FOLDER = Path(__file__).parent
KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
DIRECTIONS = ("higher", "lower")
FREQUENCIES = ("monthly", "quarterly")
ADVICE_BANDS = (Band.RISK, Band.CRITICAL)
# Code singles some categories out (the demo's stories, the expansion insight) by their place.
CATEGORY_ROLES = ("usage", "support", "sentiment", "financial", "relationship")
CATEGORY_ORDER = f"give {len(CATEGORY_ROLES)} categories, in this order: {', '.join(CATEGORY_ROLES)}"


class CatalogError(ValueError):
    """A catalog data file breaks a rule the code relies on; the message says where and what."""


@dataclass(frozen=True)
class CatalogKpi:
    key: str
    name: str
    category: str
    unit: str
    direction: str  # "higher" (higher is better) | "lower"
    impact: str  # "high" | "medium" | "low"
    weight: float  # 0.5–2.0, relative weight inside its category
    frequency: str  # "monthly" | "quarterly"
    worst: float
    critical: float
    healthy: float
    best: float
    min_value: float
    max_value: float
    description: str

    @property
    def anchors(self) -> tuple[float, float, float, float]:
        return (self.worst, self.critical, self.healthy, self.best)

    def value_at_score(self, score: float) -> float:
        """The value that scores `score` points; beyond 0 or 100 the outer segments extend linearly."""
        segment = next((i for i in (0, 1) if score <= ANCHOR_SCORES[i + 1]), 2)
        (score_a, score_b), (value_a, value_b) = (
            ANCHOR_SCORES[segment : segment + 2],
            self.anchors[segment : segment + 2],
        )
        return value_a + (value_b - value_a) * (score - score_a) / (score_b - score_a)


@dataclass(frozen=True)
class BestPractice:
    kpi_key: str | None  # None: advice for the category as a whole
    category: str
    band: str  # "risk" | "critical"
    title: str
    advice: str


@dataclass(frozen=True)
class IndustryBenchmark:
    industry: str
    kpi_key: str
    p25: float
    median: float
    p75: float


@dataclass(frozen=True)
class KpiCatalog:
    """Everything catalog_sync copies into a tenant for the health side."""

    category_weights: dict[str, float]  # the categories in display order, with a new tenant's weights
    kpis: tuple[CatalogKpi, ...]
    best_practices: tuple[BestPractice, ...]
    benchmarks: tuple[IndustryBenchmark, ...]

    @property
    def industries(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(benchmark.industry for benchmark in self.benchmarks))


def toml_read(path: Path) -> dict:
    """A catalog file's data; a syntax error names the file and the line."""
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"{path.name}: {error}") from error


def require(rule: bool, where: str, problem: str) -> None:
    if not rule:
        raise CatalogError(f"{where}: {problem}")


def unique_keys(keys: Iterable[str], where: str) -> None:
    seen: set[str] = set()
    for key in keys:
        require(bool(KEY.fullmatch(key)), f"{where} {key!r}", "give a key of lowercase letters, digits and _")
        require(key not in seen, f"{where} {key!r}", "give each entry its own key; this one is used twice")
        seen.add(key)


def catalog_load(folder: Path = FOLDER) -> KpiCatalog:
    """Read and check the three files in `folder`."""
    data = toml_read(folder / "kpis.toml")
    weights = {category["name"]: float(category["weight"]) for category in data["categories"]}
    require(len(weights) == len(CATEGORY_ROLES), "kpis.toml: [[categories]]", CATEGORY_ORDER)
    kpis = tuple(_kpi(entry, weights) for entry in data["kpis"])
    unique_keys((kpi.key for kpi in kpis), "kpis.toml: KPI")
    by_key = {kpi.key: kpi for kpi in kpis}
    practices = _best_practices(toml_read(folder / "best_practices.toml"), by_key, weights)
    benchmarks = _benchmarks(toml_read(folder / "benchmarks.toml"), kpis, weights)
    return KpiCatalog(weights, kpis, practices, benchmarks)


def _kpi(entry: dict, weights: dict[str, float]) -> CatalogKpi:
    where = f"kpis.toml: KPI {entry.get('key')!r}"
    numbers = ("weight", "worst", "critical", "healthy", "best", "min_value", "max_value")
    try:
        kpi = CatalogKpi(**{**entry, **{name: float(entry[name]) for name in numbers}})
    except (TypeError, KeyError, ValueError) as error:
        raise CatalogError(f"{where}: {error}") from error
    require(kpi.category in weights, where, f"give a category of [[categories]] (not {kpi.category!r})")
    require(kpi.direction in DIRECTIONS, where, f"give a direction of {', '.join(DIRECTIONS)}")
    require(kpi.impact in IMPACT_MULTIPLIER, where, f"give an impact of {', '.join(IMPACT_MULTIPLIER)}")
    require(kpi.frequency in FREQUENCIES, where, f"give a frequency of {', '.join(FREQUENCIES)}")
    require(0.5 <= kpi.weight <= 2.0, where, "give a weight from 0.5 to 2.0")
    improving = kpi.anchors if kpi.direction == "higher" else kpi.anchors[::-1]
    require(
        all(a < b for a, b in pairwise(improving)),
        where,
        f"worst, critical, healthy and best must each be better than the one before "
        f"({'rising' if kpi.direction == 'higher' else 'falling'}, as {kpi.direction} is better)",
    )
    require(
        kpi.min_value <= min(kpi.anchors) and max(kpi.anchors) <= kpi.max_value,
        where,
        "keep worst, critical, healthy and best within min_value and max_value",
    )
    return kpi


def _best_practices(data: dict, kpis: dict[str, CatalogKpi], weights: dict[str, float]) -> tuple:
    """Per KPI (its category comes from the KPI, so the two cannot disagree), then per category."""
    per_kpi = [
        _practice(f"kpi.{key}", key, kpis[key].category if key in kpis else "", bands)
        for key, bands in data.get("kpi", {}).items()
    ]
    per_category = [
        _practice(f"category.{category}", None, category, bands)
        for category, bands in data.get("category", {}).items()
    ]
    practices = tuple(practice for group in per_kpi + per_category for practice in group)
    for practice in practices:
        where = f"best_practices.toml: {practice.kpi_key or practice.category}"
        require(
            practice.kpi_key is None or practice.kpi_key in kpis, where, "no KPI in kpis.toml has this key"
        )
        require(practice.category in weights, where, "no category in kpis.toml has this name")
    return practices


def _practice(where: str, kpi_key: str | None, category: str, bands: dict) -> list[BestPractice]:
    practices = []
    for band, text in bands.items():
        require(
            band in ADVICE_BANDS,
            f"best_practices.toml: {where}",
            f"give advice for {' or '.join(ADVICE_BANDS)}",
        )
        require(
            set(text) == {"title", "advice"},
            f"best_practices.toml: {where}.{band}",
            "give a title and the advice",
        )
        practices.append(BestPractice(kpi_key, category, Band(band), text["title"], text["advice"]))
    return practices


def _benchmarks(data: dict, kpis: Iterable[CatalogKpi], weights: dict[str, float]) -> tuple:
    """Quartile scores shifted per industry and category, converted through each KPI's range."""
    scores = [float(score) for score in data["quartile_scores"]]
    require(len(scores) == 3, "benchmarks.toml: quartile_scores", "give three scores: p25, median, p75")
    benchmarks = []
    for industry, shifts in data["industries"].items():
        require(
            set(shifts) == set(weights), f"benchmarks.toml: {industry}", "give a shift for every category"
        )
        for kpi in kpis:
            values = sorted(round(kpi.value_at_score(score + shifts[kpi.category]), 1) for score in scores)
            benchmarks.append(IndustryBenchmark(industry, kpi.key, *values))
    return tuple(benchmarks)


SHIPPED = catalog_load()
CATEGORIES = tuple(SHIPPED.category_weights)
USAGE, SUPPORT, SENTIMENT, FINANCIAL, RELATIONSHIP = CATEGORIES
INDUSTRIES = SHIPPED.industries
DEFAULT_KPIS = SHIPPED.kpis
BEST_PRACTICES = SHIPPED.best_practices
INDUSTRY_BENCHMARKS = SHIPPED.benchmarks


def kpis_by_key() -> dict[str, CatalogKpi]:
    return {kpi.key: kpi for kpi in DEFAULT_KPIS}
