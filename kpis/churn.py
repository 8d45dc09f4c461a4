"""The learned churn model: pure computation (numpy, scikit-learn), no Django.

An account's features at a month are what the portal knew then: each KPI's 0–100 score along its
reference range (so "lower is better" KPIs point the same way as the rest), each category's trend
over the last three months, and coverage (the share of the catalog with data). The model is a
regularised logistic regression on standardised features; it is stored as plain numbers (no
pickle), so serving it is a dot product and explaining it is that dot product term by term: each
feature's contribution is how far it moves the churn probability away from what the account would
have with that feature at the tenant's average.
"""

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from kpis.scoring import KpiRule, kpi_score

TREND_MONTHS = 3
REGULARISATION_C = 0.5  # inverse L2 strength on standardised features: shrinks what little data shows
DRIVERS_SHOWN = 5

# An account's monthly KPI values, oldest first: [(first day of month, {kpi key: value})].
History = Sequence[tuple[date, Mapping[str, float]]]


def months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def latest_index(history: History, as_of: date) -> int | None:
    """Index of the latest month whose period is on or before `as_of` (None if there is none):
    nothing after it can leak into what is computed as of that day."""
    position = bisect.bisect_right([period for period, _values in history], as_of)
    return position - 1 if position else None


class FeatureSpace:
    """The features of the KPI catalog: names, and one row per account-month."""

    def __init__(self, rules: Sequence[KpiRule]):
        self.rules = sorted(rules, key=lambda rule: rule.key)
        self.categories = sorted({rule.category for rule in self.rules})
        self.names = (
            [f"kpi:{rule.key}" for rule in self.rules]
            + [f"trend:{category}" for category in self.categories]
            + ["coverage"]
        )

    def row(self, history: History, index: int, periods: dict[date, int] | None = None) -> list[float]:
        """The features of month `index` from that month and earlier ones only. `periods` maps a
        period to its index in `history` (pass it when calling for many months of one history)."""
        periods = periods if periods is not None else {period: i for i, (period, _v) in enumerate(history)}
        period, values = history[index]
        scores = self._scores(values)
        earlier = periods.get(months_back(period, TREND_MONTHS))
        before = self._scores(history[earlier][1]) if earlier is not None else {}
        trends = [self._category_trend(category, scores, before) for category in self.categories]
        present = sum(1 for score in scores.values() if not math.isnan(score))
        return [scores[rule.key] for rule in self.rules] + trends + [present / max(len(self.rules), 1)]

    def _scores(self, values: Mapping[str, float]) -> dict[str, float]:
        return {
            rule.key: kpi_score(rule, values[rule.key]) if rule.key in values else math.nan
            for rule in self.rules
        }

    def _category_trend(self, category: str, now: dict, before: dict) -> float:
        changes = [
            now[rule.key] - before[rule.key]
            for rule in self.rules
            if rule.category == category
            and not math.isnan(now[rule.key])
            and not math.isnan(before.get(rule.key, math.nan))
        ]
        return sum(changes) / len(changes) if changes else math.nan

    def label(self, name: str, kpi_names: Mapping[str, str]) -> str:
        kind, _, key = name.partition(":")
        if kind == "kpi":
            return kpi_names.get(key, key)
        return f"{key} trend (3 months)" if kind == "trend" else "Data coverage"


@dataclass(frozen=True)
class ChurnModel:
    """A fitted model as plain numbers: impute, standardise, then logistic regression."""

    names: list[str]
    fill: list[float]  # the training mean of each feature, for missing values
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping) -> "ChurnModel":
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})

    def _terms(self, rows: np.ndarray) -> np.ndarray:
        rows = np.where(np.isnan(rows), np.asarray(self.fill), rows)
        return (rows - np.asarray(self.mean)) / np.asarray(self.scale) * np.asarray(self.coef)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """The churn probability of each row of features."""
        if len(rows) == 0:
            return np.zeros(0)
        return _sigmoid(self._terms(np.asarray(rows, dtype=float)).sum(axis=1) + self.intercept)

    def explain(self, row: Sequence[float], limit: int = DRIVERS_SHOWN) -> tuple[float, list[dict]]:
        """(churn probability, its drivers): the features that move it most, each with its value and
        the change in percentage points it makes against the tenant's average for that feature
        (positive raises the risk of churn)."""
        terms = self._terms(np.asarray([row], dtype=float))[0]
        logit = terms.sum() + self.intercept
        probability = float(_sigmoid(logit))
        points = 100 * (probability - _sigmoid(logit - terms))
        order = np.argsort(-np.abs(points))[:limit]
        drivers = [
            {"feature": self.names[i], "value": _plain(row[i]), "points": round(float(points[i]), 2)}
            for i in order
            if round(float(points[i]), 2) != 0
        ]
        return probability, drivers


def fit(rows: np.ndarray, churned: np.ndarray, names: list[str]) -> ChurnModel:
    """Fit on features and outcomes (1 = churned). Needs both outcomes among the rows."""
    pipeline = make_pipeline(
        SimpleImputer(strategy="mean", keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(C=REGULARISATION_C, max_iter=1000),
    )
    pipeline.fit(np.asarray(rows, dtype=float), np.asarray(churned, dtype=int))
    imputer, scaler, regression = pipeline.named_steps.values()
    return ChurnModel(
        names=list(names),
        fill=[float(v) for v in np.nan_to_num(imputer.statistics_)],
        mean=[float(v) for v in scaler.mean_],
        scale=[float(v) for v in scaler.scale_],
        coef=[float(v) for v in regression.coef_[0]],
        intercept=float(regression.intercept_[0]),
    )


def _sigmoid(logit):
    return 1.0 / (1.0 + np.exp(-logit))


def _plain(value: float) -> float | None:
    return None if math.isnan(value) else round(float(value), 2)
