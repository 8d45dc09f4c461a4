"""How fast health snapshots recompute: the set-based engine against a naive ORM loop, and the
backfill spread over 1 and 2 Celery worker processes.

Provisions a scratch tenant, fills it inside PostgreSQL (generate_series) with N accounts
× every active KPI × 24 monthly values, then
1. times `kpis.recompute.health_recompute()` over all accounts inline (current health model);
2. times the per-account ORM loop a newcomer would write (query the account's values,
   score each month, update_or_create each snapshot) on a sample, extrapolated to N;
3. starts a real `celery worker --concurrency 1` (then `--concurrency 2`) against the broker,
   saves a new health model version as the portal does and times it until readers are switched
   to it: the chord of account chunks, then its callback (insights, projections, the switch);
and prints seconds, rows/s, the ratio, the speed-up from the second worker process, peak RSS
and whether the targets are met (full recompute < 60 s, ≥ 10× the naive loop). Removes the
tenant at the end. Runs with DEBUG off, so Django does not log every query. The workers take
the default queue: run it where no other worker listens on this broker (make bench's devstack).

Run: `python bench/health_recompute.py [--accounts 10000] [--naive-sample 200] [--workers 1 2]`.
"""

import argparse
import os
import resource
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DEBUG", "false")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from config.celery import app  # noqa: E402
from kpis.models import Account, HealthSnapshot, KpiValue  # noqa: E402
from kpis.recompute import health_recompute  # noqa: E402
from kpis.scoring import explanation, score_account  # noqa: E402
from kpis.selectors import health_model_current, kpi_rules, model_rules  # noqa: E402
from kpis.services import health_model_update  # noqa: E402
from playbooks.services import catalog_sync  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import (  # noqa: E402
    AdminSpec,
    base_schema_ensure,
    public_tenant_ensure,
    tenant_provision,
)

SLUG = "bench-health"
MONTHS = 24
TARGET_SECONDS = 60.0
TARGET_RATIO = 10.0

ACCOUNTS_SQL = """
    INSERT INTO kpis_account
        (external_id, name, revenue, industry, region, status, renewal_date, owner, created_at, updated_at)
    SELECT 'bench-' || i, 'Bench account ' || lpad(i::text, 6, '0'), round((1000 + random() * 250000)::numeric, 2),
           (ARRAY['SaaS', 'Fintech', 'Healthcare', 'Retail', 'Manufacturing'])[1 + i %% 5],
           (ARRAY['EMEA', 'NA', 'APAC', 'LATAM'])[1 + i %% 4],
           'active', current_date + (i %% 365), '', now(), now()
    FROM generate_series(1, %s) AS i
"""
# Each account × KPI series gets a level (mostly the account's overall health) and a trend
# across the months, plus noise, placed between the KPI's worst and best values widened by
# a fifth on each side and clamped to [min_value, max_value]: accounts land in every band
# instead of pinning at 0 or 100.
VALUES_SQL = """
    WITH accounts AS MATERIALIZED (
        SELECT id, random() AS health FROM kpis_account
    ), series AS MATERIALIZED (
        SELECT a.id AS account_id, k.id AS kpi_id,
               GREATEST(k.min_value, LEAST(k.max_value, k.worst - 0.2 * (k.best - k.worst))) AS low,
               GREATEST(k.min_value, LEAST(k.max_value, k.best + 0.2 * (k.best - k.worst))) AS high,
               0.8 * a.health + 0.2 * random() AS level, 0.6 * (random() - 0.5) AS trend
        FROM accounts a CROSS JOIN kpis_kpidefinition k
        WHERE k.active
    ), months AS (
        SELECT (date_trunc('month', current_date) - make_interval(months => %(months)s - m))::date AS period,
               m::float / (%(months)s - 1) AS t
        FROM generate_series(1, %(months)s) AS m
    )
    INSERT INTO kpis_kpivalue (account_id, kpi_id, period, value, version, is_current, source, created_at)
    SELECT s.account_id, s.kpi_id, m.period,
           s.low + (s.high - s.low) * LEAST(1, GREATEST(0, s.level + s.trend * m.t + (random() - 0.5) * 0.1)),
           1, true, 'bench', now()
    FROM series s CROSS JOIN months m
"""


def cleanup() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SLUG}" CASCADE')
    Tenant.objects.filter(schema_name=SLUG).delete()


def generate(accounts: int) -> int:
    """Fill the tenant; returns the number of KPI values."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(ACCOUNTS_SQL, [accounts])
        cursor.execute(VALUES_SQL, {"months": MONTHS})
        cursor.execute("ANALYZE kpis_account")
        cursor.execute("ANALYZE kpis_kpivalue")
    return KpiValue.objects.count()


def timed(function, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def naive_recompute(accounts: list[Account]) -> int:
    """The obvious loop: one account at a time, one update_or_create per snapshot."""
    model = health_model_current()
    rules, model_rule = kpi_rules(), model_rules(model)
    written = 0
    for account in accounts:
        months = defaultdict(dict)
        for value in KpiValue.objects.filter(account=account, is_current=True).select_related("kpi"):
            months[value.period][value.kpi.key] = value.value
        previous = None
        for period in sorted(months):
            health = score_account(rules, months[period], model_rule)
            HealthSnapshot.objects.update_or_create(
                account=account,
                period=period,
                model_version=model.version,
                defaults={
                    "score": health.score,
                    "band": health.band,
                    "category_scores": health.category_scores,
                    "coverage": health.coverage,
                    "explanation": explanation(health, previous),
                },
            )
            previous = health
            written += 1
    return written


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


ROW = "{:<26}{:>10}{:>12}{:>14}{:>15}"


def row(label: str, seconds: float, snapshots: int, values: float) -> str:
    return ROW.format(
        label, f"{seconds:.2f}", f"{snapshots:,}", f"{snapshots / seconds:,.0f}", f"{values / seconds:,.0f}"
    )


def worker_start(processes: int) -> subprocess.Popen:
    """A real worker with `processes` child processes on the default queue; returns once it
    answers a ping."""
    hostname = f"bench-health-{uuid.uuid4().hex[:6]}@%h"
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork"]
    command += [f"--concurrency={processes}", f"--hostname={hostname}", "--loglevel=WARNING"]
    command += ["--without-heartbeat", "--without-gossip", "--without-mingle"]
    worker = subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=1.0):
        if time.monotonic() > deadline or worker.poll() is not None:
            worker.terminate()
            raise RuntimeError("the bench's Celery worker did not start")
    return worker


def backfill_in_workers(processes: int) -> float:
    """Save a new model version (same settings) as the portal does and wait until readers
    switch to it: the backfill's chord over `processes` worker processes, callback included."""
    worker = worker_start(processes)
    try:
        started = time.perf_counter()
        model = health_model_update(created_by=f"bench, {processes} worker process(es)")
        while health_model_current().version != model.version:
            time.sleep(0.2)
        return time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def report_workers(seconds: dict[int, float], snapshots: int, values: int) -> None:
    print(ROW.format("", "seconds", "snapshots", "snapshots/s", "KPI values/s"))
    for processes, elapsed in seconds.items():
        print(row(f"chord, {processes} process(es)", elapsed, snapshots, values))
    if len(seconds) > 1:
        fewest, most = min(seconds), max(seconds)
        print(f"speed-up {most} vs {fewest} worker process(es): {seconds[fewest] / seconds[most]:.2f}x")
    fastest = min(seconds.values())
    print(
        f"target full recompute < {TARGET_SECONDS:.0f} s (workers): {'met' if fastest < TARGET_SECONDS else 'MISSED'}"
    )


def report(
    accounts: int, values: int, engine: tuple[float, int], naive: tuple[float, int], sample: int
) -> None:
    """Side by side; the naive loop read values × sample / accounts KPI values."""
    (engine_s, engine_rows), (naive_s, naive_rows) = engine, naive
    scale = accounts / sample
    ratio = (engine_rows / engine_s) / (naive_rows / naive_s)
    print(ROW.format("", "seconds", "snapshots", "snapshots/s", "KPI values/s"))
    print(row("engine (all accounts)", engine_s, engine_rows, values))
    print(row(f"naive ({sample} accounts)", naive_s, naive_rows, values / scale))
    print(row("naive (extrapolated)", naive_s * scale, round(naive_rows * scale), values))
    print(f"engine/naive ratio: {ratio:.1f}x (snapshots/s)")
    print(
        f"target full recompute < {TARGET_SECONDS:.0f} s (inline): {'met' if engine_s < TARGET_SECONDS else 'MISSED'}"
    )
    print(f"target >= {TARGET_RATIO:.0f}x the naive loop: {'met' if ratio >= TARGET_RATIO else 'MISSED'}")


def run(accounts: int, sample: int, workers: list[int]) -> None:
    base_schema_ensure()
    catalog_sync(schema_name=settings.TENANT_BASE_SCHEMA)  # new tenants clone it, catalogs included
    public_tenant_ensure()
    cleanup()
    tenant_provision(
        name="Bench health", slug=SLUG, admin=AdminSpec("Bench", "bench@example.com", "bench-password-1234")
    )
    try:
        with schema_context(SLUG):
            seconds, values = timed(generate, accounts)
            kpis = values // (accounts * MONTHS)
            print(
                f"generated {accounts:,} accounts x {kpis} KPIs x {MONTHS} months = {values:,} values in {seconds:.1f} s"
            )
            engine = timed(health_recompute)
            print(f"peak RSS after engine: {peak_rss_mb():.0f} MB")
            chosen = list(Account.objects.order_by("pk")[: min(sample, accounts)])
            HealthSnapshot.objects.filter(
                account__in=chosen
            ).delete()  # same start as the engine: no snapshots
            naive = timed(naive_recompute, chosen)
            report(accounts, values, engine, naive, len(chosen))
            print(f"peak RSS: {peak_rss_mb():.0f} MB")
            if workers:
                seconds = {processes: backfill_in_workers(processes) for processes in workers}
                report_workers(seconds, engine[1], values)
    finally:
        cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000, help="accounts to generate (default 10000)")
    parser.add_argument(
        "--naive-sample", type=int, default=200, help="accounts the naive loop runs on (default 200)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="*",
        default=[1, 2],
        help="worker process counts to time the chord backfill with (default 1 2; none to skip)",
    )
    args = parser.parse_args()
    run(args.accounts, args.naive_sample, args.workers)
