"""How long the nightly peer-benchmark publication takes, and how much memory it needs.

Makes T opted-in bench tenants with A accounts each (spread over six industries) and K catalog
KPIs of values in each of the last M months, then times `kpis.services.peer_benchmarks_refresh()`
(the beat task's whole work: visit every opted-in schema, aggregate there, pool, publish) and
prints seconds, values read per second, cells published and withheld, and peak RSS. Target
(issue 18): 500 tenants × 200 accounts × 25 KPIs in under 5 minutes.

The bench schemas hold only the three tables the aggregation reads (accounts, KPI definitions
copied from the template schema, KPI values, each with the template's indexes), filled inside
PostgreSQL with generate_series: provisioning 500 full tenants would time provisioning, not
the publication (bench/tenant_provisioning.py does that). Every other opted-in tenant of the
database (the demo and its peers) takes part too. At the end the bench schemas and tenants are
removed and the publication re-run without them, so the real cells are as before.

Run: `python bench/peers.py [--tenants 500 --accounts 200 --kpis 25 --months 1]`
(`make bench` runs it at a small size; the figures in the README come from the full size).
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DEBUG", "false")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from kpis.catalog import DEFAULT_KPIS  # noqa: E402
from kpis.services import PEER_MONTHS, month_starts_back, peer_benchmarks_refresh  # noqa: E402
from playbooks.services import catalog_sync  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import base_schema_ensure, public_tenant_ensure  # noqa: E402

PREFIX = "bench-peer-"
INDUSTRIES = ["Software", "Healthcare", "Financial Services", "Manufacturing", "Retail", "Education"]
TABLES = ["kpis_account", "kpis_kpidefinition", "kpis_kpivalue"]


def schema_fill(schema: str, seed: int, accounts: int, kpis: list[str], months: list) -> None:
    """The three tables, like the template's, with `accounts` accounts and their values: each
    tenant has its own level per KPI, so tenants differ as real ones do."""
    base = settings.TENANT_BASE_SCHEMA
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
        for table in TABLES:
            cursor.execute(f'CREATE TABLE "{schema}".{table} (LIKE "{base}".{table} INCLUDING ALL)')
        cursor.execute(f'INSERT INTO "{schema}".kpis_kpidefinition SELECT * FROM "{base}".kpis_kpidefinition')
        cursor.execute(
            f"""INSERT INTO "{schema}".kpis_account
                  (external_id, name, revenue, industry, region, status, owner, created_at, updated_at)
                SELECT 'B-' || g, 'Bench account ' || g, 0, (%s::text[])[1 + (g + %s) %% 6], '', 'active', '',
                       now(), now()
                FROM generate_series(1, %s) g""",
            [INDUSTRIES, seed, accounts],
        )
        cursor.execute(
            f"""INSERT INTO "{schema}".kpis_kpivalue
                  (account_id, kpi_id, period, value, version, is_current, source, created_at)
                SELECT a.id, k.id, m.period,
                       k.worst + (k.best - k.worst) * least(1, greatest(0,
                           0.5 + 0.15 * sin(%s + k.id) + 0.2 * (random() - 0.5))),
                       1, true, 'bench', now()
                FROM "{schema}".kpis_account a
                CROSS JOIN (SELECT id, worst, best FROM "{schema}".kpis_kpidefinition WHERE key = ANY(%s)) k
                CROSS JOIN unnest(%s::date[]) AS m(period)""",
            [seed, kpis, months],
        )
        cursor.execute(f'ANALYZE "{schema}".kpis_kpivalue')


def tenants_make(count: int, accounts: int, kpis: list[str], months: list) -> None:
    for index in range(count):
        schema = f"{PREFIX}{index}"
        schema_fill(schema, index, accounts, kpis, months)
        Tenant.objects.create(schema_name=schema, name=f"Bench peer {index}", peer_benchmarks=True)
        if (index + 1) % 50 == 0:
            print(f"  {index + 1} tenants ready", flush=True)


def cleanup() -> None:
    for tenant in Tenant.objects.filter(schema_name__startswith=PREFIX):
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{tenant.schema_name}" CASCADE')
        tenant.delete()


def run(tenants: int, accounts: int, kpi_count: int, months: int) -> None:
    base_schema_ensure()
    catalog_sync(schema_name=settings.TENANT_BASE_SCHEMA)
    public_tenant_ensure()
    cleanup()
    kpis = [kpi.key for kpi in DEFAULT_KPIS[:kpi_count]]
    window = month_starts_back(timezone.localdate(), PEER_MONTHS)[-months - 1 : -1]  # complete months
    try:
        started = time.perf_counter()
        tenants_make(tenants, accounts, kpis, window)
        print(f"setup: {time.perf_counter() - started:.1f} s")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        result = peer_benchmarks_refresh()
        seconds = time.perf_counter() - started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finally:
        cleanup()
        peer_benchmarks_refresh()  # the real cells again, without the bench tenants
    values = tenants * accounts * kpi_count * len(window)
    print(
        f"tenants {tenants} x accounts {accounts} x KPIs {kpi_count} x months {len(window)} = {values:,} values"
    )
    print(
        f"publication: {seconds:.1f} s ({values / seconds:,.0f} values/s), {PEER_MONTHS} months re-published"
    )
    print(f"cells published {result.published}, withheld {result.withheld}")
    print(f"peak RSS {rss_after / 1024:.0f} MB (before the publication {rss_before / 1024:.0f} MB)")
    print(f"target < 300 s: {'met' if seconds < 300 else 'NOT met'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--kpis", type=int, default=25)
    parser.add_argument("--months", type=int, default=1, help="months of values (at most 3 complete ones)")
    args = parser.parse_args()
    run(args.tenants, args.accounts, args.kpis, args.months)
