"""How well the learned churn model does against the best possible, and how long proving it takes.

For each size (default 1,000 and 10,000 accounts) it provisions a scratch tenant and loads a book
from kpis.renewal_history: three years of monthly KPIs and yearly renewals whose outcomes are drawn
from a known churn model, so the true churn probability of every renewal is known and its AUC is
the ceiling no model can beat. Then it times what a training does (kpis.services.learned_model_train):
reading the renewals and KPI history as they stood 90 days before each renewal, then training and
backtesting on the rolling quarterly folds; and prints the learned model's AUC against the ceiling
and against the rules on the same folds. Targets: learned AUC within 0.05 of the ceiling at 10,000
accounts; reading + training + backtest under 60 s there. Removes the tenant at the end.

Run: `python bench/health_proof.py [--accounts 1000 10000]`.
"""

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DEBUG", "false")

import django

django.setup()

import numpy as np  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from kpis.backtest import auc, evaluated, prove, rolling_origin_folds  # noqa: E402
from kpis.demo import renewal_book_load  # noqa: E402
from kpis.models import Account  # noqa: E402
from kpis.renewal_history import book_generate  # noqa: E402
from kpis.selectors import health_model_current, model_thresholds, renewal_dataset  # noqa: E402
from tenants.models import Plan, Tenant  # noqa: E402
from tenants.services import (  # noqa: E402
    AdminSpec,
    base_schema_ensure,
    public_tenant_ensure,
    tenant_provision,
)

SLUG = "bench-proof"
TODAY = dt.date(2026, 11, 23)
TARGET_GAP = 0.05
TARGET_SECONDS = 60.0


def cleanup() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SLUG}" CASCADE')
    Tenant.objects.filter(schema_name=SLUG).delete()


def measure(accounts: int) -> None:
    started = time.perf_counter()
    book = book_generate(accounts, TODAY, prefix="BENCH")
    renewal_book_load(book)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE kpis_kpivalue")
    churns = sum(r.outcome == "churned" for r in book.renewals)
    print(
        f"\n{accounts:,} accounts: {len(book.renewals):,} renewals ({churns:,} churned), "
        f"{book.values.shape[1]} months x {book.values.shape[2]} KPIs, loaded in {time.perf_counter() - started:.1f} s"
    )
    model = health_model_current()
    started = time.perf_counter()
    data = renewal_dataset(model)
    read = time.perf_counter() - started
    started = time.perf_counter()
    proof = prove(data, model_thresholds(model))
    trained = time.perf_counter() - started
    ceiling = ceiling_auc(book, data)
    learned, rules = proof.learned_card["auc"], proof.rules_card["auc"]
    print(
        f"  AUC on {proof.learned_card['renewals']:,} renewals in {len(proof.learned_card['folds'])} quarterly folds: "
        f"ceiling {ceiling:.4f} | learned {learned:.4f} {proof.learned_card['auc_ci']} | rules {rules:.4f} "
        f"{proof.rules_card['auc_ci']}"
    )
    print(
        f"  critical lift: learned {proof.learned_card['critical_lift_at_rules_share']} at the rules' share, "
        f"rules {proof.rules_card['critical_lift']}; verdict: {proof.verdict}"
    )
    print(f"  seconds: read {read:.1f} + train and backtest {trained:.1f} = {read + trained:.1f}")
    print(
        f"  target learned AUC within {TARGET_GAP} of the ceiling: {'met' if ceiling - learned <= TARGET_GAP else 'MISSED'}; "
        f"target < {TARGET_SECONDS:.0f} s: {'met' if read + trained < TARGET_SECONDS else 'MISSED'}"
    )


def ceiling_auc(book, data) -> float:
    """The AUC of the known model's own probabilities on the renewals the folds evaluate."""
    external = dict(Account.objects.values_list("pk", "external_id"))
    truth = {(r.external_id, r.renewal_date): r.churn_probability for r in book.renewals}
    known = np.array(
        [truth[(external[a], day)] for a, day in zip(data.account_ids, data.renewal_dates, strict=True)]
    )
    index = evaluated(data, rolling_origin_folds(data))
    return auc(data.churned[index], known[index])


def run(sizes: list[int]) -> None:
    base_schema_ensure()
    public_tenant_ensure()
    cleanup()
    for accounts in sizes:
        tenant_provision(
            name="Bench proof",
            slug=SLUG,
            admin=AdminSpec("Bench", "bench@example.com", "bench-password-1234"),
            plan=Plan.objects.get(name="enterprise"),
        )
        try:
            with schema_context(SLUG):
                measure(accounts)
        finally:
            cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--accounts", type=int, nargs="+", default=[1_000, 10_000], help="sizes (default 1000 10000)"
    )
    run(parser.parse_args().accounts)
