"""Can a playbook's 95% interval be trusted, and how many accounts does it take to see 5 points?

Generates many tenants whose playbook has a known true effect and runs each through the same
estimate the product shows (playbooks.effect.estimate: difference of means, seeded percentile
bootstrap). Each tenant's trigger fires for N accounts and holds out a share of them at random;
an account's health change over 60 days is noise (most accounts drift a few points, one in ten
slumps or recovers sharply) plus, when it ran the playbook, its own effect (the true mean effect
with a spread between accounts). Prints:

- coverage: the share of tenants whose 95% interval contains the true effect (target 90-98%);
- detection: for each N, the share of tenants where the interval lies wholly above 0 for a
  true effect of 5 points, and the smallest N reaching 80% (the accounts needed).

Pure computation: no database (the product reads the same numbers out of health snapshots).
Run: `python bench/playbook_proof.py [--tenants 1000] [--accounts 80 200] [--share 0.15]`.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playbooks.effect import estimate

TRUE_EFFECT = 5.0
EFFECT_SPREAD = 3.0  # accounts differ in how much the playbook helps them
DRIFT_SD, SLUMP_SD, SLUMP_SHARE = 6.0, 18.0, 0.1
DETECTION_TARGET = 0.8
SIZES = (40, 80, 120, 160, 240, 320, 480, 640)


def tenant(
    rng: np.random.Generator, accounts: int, share: float, effect: float
) -> tuple[np.ndarray, np.ndarray]:
    """(ran, held out) health changes of one generated tenant."""
    held_out = rng.random(accounts) < share
    slump = rng.random(accounts) < SLUMP_SHARE
    change = np.where(slump, rng.normal(0, SLUMP_SD, accounts), rng.normal(0, DRIFT_SD, accounts))
    change = change + np.where(held_out, 0.0, rng.normal(effect, EFFECT_SPREAD, accounts))
    return change[~held_out], change[held_out]


def coverage(tenants: int, accounts: int, share: float, samples: int) -> tuple[float, float]:
    """Share of tenants whose interval covers the true effect, and the median interval width."""
    rng = np.random.default_rng(2019)
    covered, widths = 0, []
    for index in range(tenants):
        ran, held_out = tenant(rng, accounts, share, TRUE_EFFECT)
        found = estimate(list(ran), list(held_out), seed=index, samples=samples, min_ran=1, min_comparison=2)
        if found.low is None:  # too few held out to give an interval: it covers nothing
            continue
        covered += found.low <= TRUE_EFFECT <= found.high
        widths.append(found.high - found.low)
    return covered / tenants, float(np.median(widths))


def detection(tenants: int, accounts: int, share: float, samples: int) -> float:
    """Share of tenants whose interval lies wholly above 0 for the true effect."""
    rng = np.random.default_rng(accounts)
    detected = 0
    for index in range(tenants):
        ran, held_out = tenant(rng, accounts, share, TRUE_EFFECT)
        found = estimate(list(ran), list(held_out), seed=index, samples=samples, min_ran=1, min_comparison=2)
        detected += found.low is not None and found.low > 0  # too few held out: nothing detected
    return detected / tenants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=1000, help="generated tenants per figure")
    parser.add_argument(
        "--accounts", type=int, nargs="+", default=[80, 200], help="accounts a trigger fires for (coverage)"
    )
    parser.add_argument("--share", type=float, default=0.15, help="share held out")
    parser.add_argument("--samples", type=int, default=2000, help="bootstrap resamples per estimate")
    args = parser.parse_args()
    print(
        f"true effect {TRUE_EFFECT:+.0f} points, {args.share:.0%} held out, {args.tenants} tenants per figure"
    )

    for accounts in args.accounts:
        started = time.perf_counter()
        covered, width = coverage(args.tenants, accounts, args.share, args.samples)
        verdict = "within" if 0.90 <= covered <= 0.98 else "OUTSIDE"
        print(
            f"coverage of the 95% interval at {accounts} accounts: {covered:.1%} ({verdict} the 90-98% target), "
            f"median width {width:.1f} points  [{time.perf_counter() - started:.1f} s]"
        )

    needed = None
    for accounts in SIZES:
        rate = detection(args.tenants, accounts, args.share, args.samples)
        print(
            f"  {accounts:4d} accounts ({round(accounts * args.share):3d} held out): 5 points detected in {rate:.0%}"
        )
        if needed is None and rate >= DETECTION_TARGET:
            needed = accounts
    if needed:
        print(
            f"accounts needed to detect {TRUE_EFFECT:.0f} points in {DETECTION_TARGET:.0%} of tenants: {needed}"
        )
    else:
        print(f"accounts needed to detect {TRUE_EFFECT:.0f} points: more than {SIZES[-1]}")


if __name__ == "__main__":
    main()
