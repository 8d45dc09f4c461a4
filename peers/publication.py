"""Peer benchmark cells: pool per-tenant aggregates, refuse thin cells, round and noise the rest.

Pure Python + numpy, no Django, so the privacy rules can be tested on their own.

What crosses from a tenant's schema is a `TenantAggregate`: how many accounts it has in the
cell and the 19 quantiles (5 % to 95 %) of their values, computed by PostgreSQL inside the
tenant's schema, and only when at least MIN_TENANT_ACCOUNTS accounts are behind them. Raw
values never leave it: no minimum or maximum (one account's value), no one-account cell. The
aggregates live only in the memory of the nightly task (no table, cache key or file keeps them).

A cell (industry × KPI × month) is published only when
  * at least MIN_COMPANIES distinct tenants contribute,
  * they hold at least MIN_ACCOUNTS accounts together,
  * no tenant holds more than MAX_SHARE of the cell's accounts (dominance rule).

Published quartiles are the pooled distribution's quartiles (the account-weighted mixture of
the tenants' distributions), then
  * noised: Laplace noise of scale 2 · s · IQR / EPSILON on each quartile, where s is the
    largest tenant's share. Adding or removing a tenant of share s moves the mixture's CDF
    by at most s, which moves a quartile by about s / density ≈ 2 · s · IQR (half the mass
    lies within the IQR), so the noise is calibrated to what one tenant can change;
  * rounded to a step of about a tenth of the IQR (1, 2 or 5 × 10^k);
  * the account count is rounded to the nearest ACCOUNT_ROUNDING.
The noise is drawn from a generator seeded per publication by the caller (an HMAC of the cell
and the set of contributing tenants, peers.services): the same contributors give the same
noise, so re-running the night does not let anyone average it away, and a change of
contributors draws new noise, so two publications cannot be subtracted to isolate a tenant.
"""

import math
from dataclasses import dataclass

import numpy as np

MIN_COMPANIES = 5
MIN_ACCOUNTS = 50
MAX_SHARE = 0.40
EPSILON = 1.0
ACCOUNT_ROUNDING = 10
MIN_TENANT_ACCOUNTS = 5  # fewer accounts in a cell and a tenant's quantiles would be its values
QUANTILE_LEVELS = tuple(i / 20 for i in range(1, 20))  # what each tenant contributes
TAILED_LEVELS = (0.0, *QUANTILE_LEVELS, 1.0)  # with the tails pooling stretches them to


@dataclass(frozen=True)
class TenantAggregate:
    """One tenant's contribution to a cell: its account count and its values' 19 quantiles."""

    accounts: int
    quantiles: tuple[float, ...]


@dataclass(frozen=True)
class PublishedCell:
    companies: int
    accounts: int  # rounded to ACCOUNT_ROUNDING
    p25: float
    median: float
    p75: float
    step: float  # the rounding step of the quartiles


@dataclass(frozen=True)
class Refusal:
    """Why a cell stays unpublished (said as "not enough peers yet" on screen)."""

    reason: str


def cell_publish(
    aggregates: list[TenantAggregate],
    seed: int,
    *,
    bounds: tuple[float, float] = (-math.inf, math.inf),
    protect: bool = True,
) -> PublishedCell | Refusal:
    """The published quartiles of a cell, or why it may not be published. Noised quartiles are
    kept within the KPI's physical `bounds` (no negative response time).

    `protect=False` skips noise and rounding: only for the tests that show what they prevent."""
    refusal = cell_refusal(aggregates)
    if refusal:
        return refusal
    total = sum(a.accounts for a in aggregates)
    quartiles = pooled_quantiles(aggregates, (0.25, 0.5, 0.75))
    if not protect:
        p25, median, p75 = quartiles
        return PublishedCell(len(aggregates), total, p25, median, p75, step=0.0)
    largest_share = max(a.accounts for a in aggregates) / total
    noisy = np.clip(_noised(quartiles, largest_share, np.random.default_rng(seed)), *bounds)
    step = rounding_step(noisy[2] - noisy[0])
    p25, median, p75 = (_round_to(float(q), step) for q in noisy)
    accounts = int(_round_to(total, ACCOUNT_ROUNDING))
    return PublishedCell(len(aggregates), accounts, p25, median, p75, step)


def cell_refusal(aggregates: list[TenantAggregate]) -> Refusal | None:
    total = sum(a.accounts for a in aggregates)
    if len(aggregates) < MIN_COMPANIES:
        return Refusal(f"fewer than {MIN_COMPANIES} companies")
    if total < MIN_ACCOUNTS:
        return Refusal(f"fewer than {MIN_ACCOUNTS} accounts")
    if max(a.accounts for a in aggregates) > MAX_SHARE * total:
        return Refusal(f"one company holds more than {MAX_SHARE:.0%} of the accounts")
    return None


def pooled_quantiles(aggregates: list[TenantAggregate], levels: tuple[float, ...]) -> tuple[float, ...]:
    """Quantiles of the account-weighted mixture of the tenants' distributions, each taken as
    piecewise linear between its quantiles, its 5 % tails stretched as far as the next 5 %."""
    tailed = [_with_tails(a.quantiles) for a in aggregates]
    knots = np.unique(np.concatenate(tailed))
    weights = np.array([a.accounts for a in aggregates], dtype=float)
    cdfs = np.array([np.interp(knots, quantiles, TAILED_LEVELS) for quantiles in tailed])
    pooled = weights @ cdfs / weights.sum()
    # Where the pooled CDF is flat (a gap between tenants), take the middle of the gap.
    return tuple(float(_inverse(pooled, knots, level)) for level in levels)


def _with_tails(quantiles: tuple[float, ...]) -> tuple[float, ...]:
    low, high = quantiles[0] - (quantiles[1] - quantiles[0]), quantiles[-1] + (quantiles[-1] - quantiles[-2])
    return (low, *quantiles, high)


def _inverse(cdf: np.ndarray, knots: np.ndarray, level: float) -> float:
    low = np.interp(level, cdf, knots)  # np.interp takes the first of equal cdf values
    high = -np.interp(-level, -cdf[::-1], -knots[::-1])
    return (low + high) / 2


def _noised(quartiles: tuple[float, ...], largest_share: float, rng: np.random.Generator) -> list[float]:
    spread = quartiles[2] - quartiles[0]
    scale = 2 * largest_share * spread / EPSILON
    return sorted(q + rng.laplace(0.0, scale) if scale > 0 else q for q in quartiles)


def rounding_step(spread: float) -> float:
    """A round step (1, 2 or 5 × 10^k) of at most a tenth of the spread; 1 for a flat cell."""
    if spread <= 0:
        return 1.0
    target = spread / 10
    power = 10 ** math.floor(math.log10(target))
    return max(m * power for m in (1, 2, 5) if m * power <= target)


def _round_to(value: float, step: float) -> float:
    return round(round(value / step) * step, step_decimals(step))


def step_decimals(step: float) -> int:
    """The decimals a value rounded to `step` needs: 0 for 1, 2 or 5, one for 0.5, two for 0.02."""
    return max(0, -math.floor(math.log10(step)))
