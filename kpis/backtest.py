"""Backtest of a health score on the tenant's own renewals: pure computation, no Django.

For each renewal the score is taken as it stood LEAD_DAYS before the renewal date, from the
latest month of data on or before that day (kpis.churn.latest_index: nothing later can leak in),
and compared with the outcome. Renewals are grouped into calendar quarters; every quarter after
the first MIN_TRAIN_QUARTERS is one rolling-origin fold, whose learned model is trained only on
renewals of earlier quarters. The rules and the learned model are measured on the same folds, so
their report cards compare like with like.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score

from kpis.churn import ChurnModel, FeatureSpace, History, fit, latest_index
from kpis.scoring import Scorer, band_of

LEAD_DAYS = 90  # the score as it stood this long before the renewal is what is judged
FLAG_DAYS = 60  # churned ARR counts as flagged when below healthy at least this long ahead
MIN_TRAIN_QUARTERS = 2  # the first quarters only train; each later quarter is a fold
MIN_CHURNS = 30  # fewer churn events than this and a learned model is unproven
MIN_QUARTERS = 4  # … or fewer quarters of renewals than this
BOOTSTRAP_SAMPLES = 500
BANDS = ("healthy", "risk", "critical")


class Renewal(NamedTuple):
    account_id: int
    renewal_date: dt.date
    churned: bool
    arr: float  # ARR before the renewal


@dataclass
class Dataset:
    """The scoreable renewals, with what was known LEAD_DAYS and FLAG_DAYS before each."""

    account_ids: np.ndarray
    renewal_dates: list[dt.date]
    churned: np.ndarray  # 1 = churned
    arr: np.ndarray
    rules_score: np.ndarray  # the rules' health score as of LEAD_DAYS before
    rules_score_flag: np.ndarray  # … as of FLAG_DAYS before
    features: np.ndarray  # the learned model's features as of LEAD_DAYS before
    features_flag: np.ndarray
    names: list[str]
    unscored: int  # renewals without any data by the as-of day

    @property
    def quarters(self) -> np.ndarray:
        return np.array([day.year * 4 + (day.month - 1) // 3 for day in self.renewal_dates])


@dataclass(frozen=True)
class Thresholds:
    healthy_min: float
    critical_below: float
    renewal_probabilities: Mapping[str, float]  # the rules' fixed probability per band

    def bands(self, scores: np.ndarray) -> np.ndarray:
        return np.array([band_of(score, self.healthy_min, self.critical_below) for score in scores])


@dataclass
class Scored:
    """A score's view of the renewals: risk ranks them (higher = likelier to churn)."""

    risk: np.ndarray
    renewal_probability: np.ndarray
    band: np.ndarray
    band_flag: np.ndarray


class Fold(NamedTuple):
    quarter: str
    train: np.ndarray  # indices into the dataset
    test: np.ndarray


def dataset_build(
    renewals: Sequence[Renewal], histories: Mapping[int, History], scorer: Scorer, space: FeatureSpace
) -> Dataset:
    rows: list[tuple] = []
    unscored = 0
    for renewal in renewals:
        history = histories.get(renewal.account_id, ())
        lead = latest_index(history, renewal.renewal_date - dt.timedelta(days=LEAD_DAYS))
        if lead is None:
            unscored += 1
            continue
        flag = latest_index(history, renewal.renewal_date - dt.timedelta(days=FLAG_DAYS))
        assert flag is not None  # FLAG_DAYS < LEAD_DAYS: the flag month is on or after the lead month
        periods = {period: i for i, (period, _values) in enumerate(history)}
        rows.append(
            (
                renewal,
                scorer.score(history[lead][1]).score,
                scorer.score(history[flag][1]).score,
                space.row(history, lead, periods),
                space.row(history, flag, periods),
            )
        )
    width = len(space.names)
    return Dataset(
        account_ids=np.array([row[0].account_id for row in rows], dtype=int),
        renewal_dates=[row[0].renewal_date for row in rows],
        churned=np.array([int(row[0].churned) for row in rows], dtype=int),
        arr=np.array([row[0].arr for row in rows], dtype=float),
        rules_score=np.array([row[1] for row in rows], dtype=float),
        rules_score_flag=np.array([row[2] for row in rows], dtype=float),
        features=np.array([row[3] for row in rows], dtype=float).reshape(-1, width),
        features_flag=np.array([row[4] for row in rows], dtype=float).reshape(-1, width),
        names=list(space.names),
        unscored=unscored,
    )


def rolling_origin_folds(data: Dataset) -> list[Fold]:
    """One fold per quarter after the first MIN_TRAIN_QUARTERS: train on every earlier renewal
    (their outcomes were known when the quarter began), test on the quarter's renewals. A fold
    whose training renewals hold no churn or no renewal cannot train and is left out."""
    quarters = data.quarters
    folds = []
    for quarter in sorted(set(quarters.tolist()))[MIN_TRAIN_QUARTERS:]:
        train, test = np.flatnonzero(quarters < quarter), np.flatnonzero(quarters == quarter)
        if 0 < data.churned[train].sum() < len(train):
            folds.append(Fold(f"{quarter // 4}Q{quarter % 4 + 1}", train, test))
    return folds


def evaluated(data: Dataset, folds: Sequence[Fold]) -> np.ndarray:
    """The renewals both scores are measured on: every fold's test quarter, or all renewals
    when there is no fold yet."""
    return np.concatenate([fold.test for fold in folds]) if folds else np.arange(len(data.churned))


def rules_scored(data: Dataset, thresholds: Thresholds) -> Scored:
    band = thresholds.bands(data.rules_score)
    probability = np.array([thresholds.renewal_probabilities.get(b, 0.5) for b in band], dtype=float)
    return Scored(100 - data.rules_score, probability, band, thresholds.bands(data.rules_score_flag))


def learned_scored(data: Dataset, folds: Sequence[Fold], thresholds: Thresholds) -> Scored:
    """Out-of-fold churn probabilities: each fold's renewals scored by a model trained on the
    quarters before it only (renewals outside every fold keep NaN)."""
    churn, churn_flag = np.full(len(data.churned), np.nan), np.full(len(data.churned), np.nan)
    for fold in folds:
        model = fit(data.features[fold.train], data.churned[fold.train], data.names)
        churn[fold.test] = model.probabilities(data.features[fold.test])
        churn_flag[fold.test] = model.probabilities(data.features_flag[fold.test])
    return learned_view(churn, churn_flag, thresholds)


def learned_view(churn: np.ndarray, churn_flag: np.ndarray, thresholds: Thresholds) -> Scored:
    """The learned score is the renewal probability in points (100 × (1 − churn)), banded with
    the health model's thresholds: critical below 40 means likelier to churn than to stay."""
    return Scored(
        churn, 1 - churn, thresholds.bands(100 * (1 - churn)), thresholds.bands(100 * (1 - churn_flag))
    )


def report_card(data: Dataset, scored: Scored, folds: Sequence[Fold], method: str) -> dict:
    """Every figure of the report card, on the evaluated renewals."""
    index = evaluated(data, folds)
    index = index[~np.isnan(scored.risk[index])]  # a learned model without folds scores nothing
    churned, risk, arr = data.churned[index], scored.risk[index], data.arr[index]
    band, band_flag, probability = (
        scored.band[index],
        scored.band_flag[index],
        scored.renewal_probability[index],
    )
    base_rate = churned.mean() if len(churned) else None
    bands = _bands(churned, band, arr, probability)
    critical_rate = bands["critical"]["churn_rate"]
    churned_arr = arr[churned == 1].sum()
    flagged = arr[(churned == 1) & (band_flag != "healthy")].sum()
    return {
        "method": method,
        "renewals": int(len(index)),
        "churns": int(churned.sum()),
        "unscored": data.unscored,
        "base_churn_rate": _round(base_rate),
        "auc": _round(auc(churned, risk)),
        "auc_ci": bootstrap_auc_interval(churned, risk),
        "pr_auc": _round(average_precision_score(churned, risk))
        if 0 < churned.sum() < len(churned)
        else None,
        "bands": bands,
        "critical_lift": _round(critical_rate / base_rate)
        if critical_rate is not None and base_rate
        else None,
        "churned_arr_flagged_60d": _round(flagged / churned_arr) if churned_arr else None,
        "reliability": reliability(churned, probability),
        "folds": [_fold_figures(fold, data.churned, scored.risk) for fold in folds],
    }


def _bands(churned: np.ndarray, band: np.ndarray, arr: np.ndarray, probability: np.ndarray) -> dict:
    book = arr.sum()
    figures = {}
    for name in BANDS:
        inside = band == name
        count = int(inside.sum())
        rate = churned[inside].mean() if count else None
        figures[name] = {
            "renewals": count,
            "churns": int(churned[inside].sum()),
            "churn_rate": _round(rate),
            "book_share": _round(arr[inside].sum() / book) if book else None,
            "predicted_renewal": _round(probability[inside].mean()) if count else None,
            "observed_renewal": _round(1 - rate) if rate is not None else None,
        }
    return figures


def reliability(churned: np.ndarray, probability: np.ndarray, bins: int = 10) -> list[dict]:
    """Predicted against observed renewal rate: one point per distinct prediction when there are
    few (the rules' per-band probabilities), else per decile of the predictions."""
    if len(probability) == 0:
        return []
    distinct = np.unique(probability)
    groups = (
        [probability == value for value in distinct]
        if len(distinct) <= bins
        else [
            np.isin(np.arange(len(probability)), part)
            for part in np.array_split(np.argsort(probability), bins)
        ]
    )
    return [
        {
            "predicted": _round(probability[g].mean()),
            "observed": _round(1 - churned[g].mean()),
            "renewals": int(g.sum()),
        }
        for g in groups
        if g.any()
    ]


def _fold_figures(fold: Fold, churned: np.ndarray, risk: np.ndarray) -> dict:
    return {
        "quarter": fold.quarter,
        "renewals": int(len(fold.test)),
        "churns": int(churned[fold.test].sum()),
        "auc": _round(auc(churned[fold.test], risk[fold.test])),
    }


def auc(churned: np.ndarray, risk: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann–Whitney, ties counted half); None without both outcomes."""
    positives = int(churned.sum())
    negatives = len(churned) - positives
    if not positives or not negatives:
        return None
    ranks = rankdata(risk)
    return float((ranks[churned == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def bootstrap_auc_interval(churned: np.ndarray, risk: np.ndarray, seed: int = 0) -> list[float] | None:
    """The 95% interval of the AUC over renewals resampled with replacement (fixed seed: the same
    data always gives the same interval)."""
    if auc(churned, risk) is None:
        return None
    rng = np.random.default_rng(seed)
    samples = [
        auc(churned[pick], risk[pick])
        for pick in rng.integers(0, len(churned), (BOOTSTRAP_SAMPLES, len(churned)))
    ]
    values = [value for value in samples if value is not None]
    return [_round(np.percentile(values, 2.5)), _round(np.percentile(values, 97.5))]


# --- the gates ------------------------------------------------------------------------------------


def unproven_reason(data: Dataset, folds: Sequence[Fold]) -> str | None:
    """Why a learned model on this history cannot be trusted yet (None when it can)."""
    churns, quarters = int(data.churned.sum()), len(set(data.quarters.tolist()))
    if churns < MIN_CHURNS:
        return (
            f"Unproven: the renewal history holds {churns} churn event(s); a learned model needs at least "
            f"{MIN_CHURNS} before its backtest means anything. Load more renewal outcomes."
        )
    if quarters < MIN_QUARTERS or not folds:
        return (
            f"Unproven: renewals span {quarters} quarter(s); a learned model needs at least {MIN_QUARTERS}, "
            "so that it is tested on quarters it never saw. Load older renewal outcomes."
        )
    return None


def activation_refusal(*, proven: bool, verdict: str, learned: Mapping, rules: Mapping) -> str | None:
    """Why the learned model may not replace the rules (None when it beats them on both AUC and
    the critical band's lift, measured on the same folds)."""
    if not proven:
        return verdict
    if learned["auc"] is None or rules["auc"] is not None and learned["auc"] <= rules["auc"]:
        return f"Its AUC {learned['auc']} does not beat the rules' {rules['auc']} on the same renewals."
    rules_lift = rules["critical_lift"] if rules["critical_lift"] is not None else 1.0
    lift = learned.get("critical_lift_at_rules_share", learned["critical_lift"])
    if lift is None or lift <= rules_lift:
        return (
            f"Flagging as many renewals critical as the rules do, its churn lift {lift} does not beat the "
            f"rules' {rules['critical_lift']} on the same renewals."
        )
    return None


def lift_at_share(data: Dataset, scored: Scored, folds: Sequence[Fold], flagged: int) -> float | None:
    """The churn lift of the `flagged` riskiest evaluated renewals: the learned model's critical
    lift at the rules' critical share, so two bands of different sizes are compared fairly."""
    index = evaluated(data, folds)
    index = index[~np.isnan(scored.risk[index])]
    churned = data.churned[index]
    if not flagged or not len(index) or not churned.mean():
        return None
    riskiest = np.argsort(-scored.risk[index], kind="stable")[:flagged]
    return _round(churned[riskiest].mean() / churned.mean())


@dataclass
class Proof:
    """A training's outcome: the final model, both report cards and the verdict."""

    model: ChurnModel | None
    learned_card: dict
    rules_card: dict
    proven: bool
    verdict: str


def prove(data: Dataset, thresholds: Thresholds) -> Proof:
    """Train on the folds, measure rules and learned on them, and fit the final model on all
    renewals (None when the history has a single outcome)."""
    folds = rolling_origin_folds(data)
    rules_card = report_card(data, rules_scored(data, thresholds), folds, "rules")
    learned = learned_scored(data, folds, thresholds)
    learned_card = report_card(data, learned, folds, "learned")
    flagged = rules_card["bands"]["critical"]["renewals"]
    learned_card["critical_lift_at_rules_share"] = lift_at_share(data, learned, folds, flagged)
    reason = unproven_reason(data, folds)
    trainable = 0 < data.churned.sum() < len(data.churned)
    model = fit(data.features, data.churned, data.names) if trainable else None
    verdict = reason or _comparison(learned_card, rules_card)
    return Proof(
        model, learned_card, rules_card, proven=reason is None and model is not None, verdict=verdict
    )


def _comparison(learned: Mapping, rules: Mapping) -> str:
    refusal = activation_refusal(proven=True, verdict="", learned=learned, rules=rules)
    return (
        f"Proven, but not better than the rules: {refusal}"
        if refusal
        else "Proven and better than the rules."
    )


def _round(value, places: int = 4):
    return None if value is None or np.isnan(value) else round(float(value), places)
