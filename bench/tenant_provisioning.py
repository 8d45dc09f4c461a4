"""How long a new tenant waits: cloning the template schema vs replaying migrations.

Provisions N tenants each way through the same service registration uses (tenant row,
domain, schema, first admin), prints the median seconds per tenant and the ratio, then
removes the tenants it made. Run: `make bench` or `python bench/tenant_provisioning.py -n 10`.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from playbooks.services import catalog_sync  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import (  # noqa: E402
    AdminSpec,
    base_schema_ensure,
    public_tenant_ensure,
    tenant_provision,
)

ADMIN = AdminSpec(full_name="Bench Admin", email="bench@example.com", password="bench-password-1234")


def provision_timed(slug: str, strategy: str) -> float:
    started = time.perf_counter()
    tenant_provision(name=slug, slug=slug, admin=ADMIN, strategy=strategy)
    return time.perf_counter() - started


def cleanup(prefix: str) -> None:
    for tenant in Tenant.objects.filter(schema_name__startswith=prefix):
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{tenant.schema_name}" CASCADE')
        tenant.delete()


def run(n: int) -> None:
    base_schema_ensure()
    catalog_sync(schema_name=settings.TENANT_BASE_SCHEMA)  # new tenants clone it, catalogs included
    public_tenant_ensure()
    cleanup("bench-")
    try:
        timings = {
            strategy: [provision_timed(f"bench-{strategy}-{i}", strategy) for i in range(n)]
            for strategy in ("clone", "migrate")
        }
    finally:
        cleanup("bench-")
    clone, migrate = (statistics.median(timings[s]) for s in ("clone", "migrate"))
    print(f"tenants per strategy: {n}")
    print(
        f"clone   median {clone:.3f} s/tenant  (min {min(timings['clone']):.3f}, max {max(timings['clone']):.3f})"
    )
    print(
        f"migrate median {migrate:.3f} s/tenant  (min {min(timings['migrate']):.3f}, max {max(timings['migrate']):.3f})"
    )
    print(f"clone is {migrate / clone:.1f}x faster than migrate")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10, help="tenants per strategy (default 10)")
    run(parser.parse_args().n)
