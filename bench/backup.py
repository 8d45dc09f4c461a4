"""How long backups, restores and the restore drill take, and how big the dumps are.

Works in a database of its own (`<your database>_bench_backup`, dropped at the end) with backups in
a temporary folder. For each tenant count: tenant 1 gets the demo tenant's data (accounts, KPI
values, renewals, playbooks, documents), the others are copies of it (schema_clone, data included);
then it times `backup_create()` (whole database), a restore of that dump into an empty scratch
database, and `restore_drill_run()`. At the largest count it also backs up one tenant and times its
side-by-side restore (`tenant_restore`) against the whole restore: the target is under 5 %.

Run: `python bench/backup.py [--tenants 1 200]` (a few tenants while developing: `--tenants 1 5`).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DEBUG", "false")
os.environ["SEED_DEMO_DATA"] = "false"
os.environ["AWS_S3_BACKUP_BUCKET"] = ""  # time the local backup only
os.environ["BACKUP_DIR"] = tempfile.mkdtemp(prefix="pulse-bench-backups-")

TARGET_SHARE = 0.05

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

# Before the first connection: every connection of this process (Django's and ops.pgtools') goes
# to the bench database on the same server.
BENCH_DATABASE = settings.DATABASES["default"]["NAME"] + "_bench_backup"
settings.DATABASES["default"]["NAME"] = BENCH_DATABASE
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from ops.backups import backup_create, backup_files  # noqa: E402
from ops.demo import demo_seed  # noqa: E402
from ops.pgtools import database_create, database_drop  # noqa: E402
from ops.restore import database_restore, restore_drill_run, tenant_restore  # noqa: E402
from playbooks.services import catalog_sync  # noqa: E402
from tenants.models import Domain, Tenant  # noqa: E402
from tenants.schema_clone import schema_clone  # noqa: E402
from tenants.services import base_schema_ensure, public_tenant_ensure, tenant_host  # noqa: E402

MODEL_SLUG = "demo"


def database_prepare() -> None:
    """A fresh bench database, migrated as bootstrap would, with the demo tenant in it."""
    database_drop(BENCH_DATABASE)
    database_create(BENCH_DATABASE)
    connection.close()
    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    base_schema_ensure()
    catalog_sync(schema_name=settings.TENANT_BASE_SCHEMA)
    public_tenant_ensure()
    demo_seed()


def tenants_grow_to(count: int) -> None:
    """Copies of the demo tenant, data included, until there are `count` tenants. Written directly
    (not tenant_provision, which starts a tenant empty) so that every tenant is demo-sized."""
    existing = Tenant.objects.exclude(schema_name="public").count()
    model = Tenant.objects.get(schema_name=MODEL_SLUG)
    for number in range(existing + 1, count + 1):
        slug = f"copy-{number:04d}"
        tenant = Tenant.objects.create(schema_name=slug, name=f"Copy {number}", plan=model.plan)
        Domain.objects.create(tenant=tenant, domain=tenant_host(slug), is_primary=True)
        schema_clone(source=MODEL_SLUG, target=slug)


def timed(function, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(**kwargs)
    return time.perf_counter() - started, result


def whole_restore_seconds(dump: Path) -> float:
    scratch = f"{BENCH_DATABASE}_restore"
    database_drop(scratch)
    database_create(scratch)
    try:
        return timed(database_restore, dump=dump, database=scratch)[0]
    finally:
        database_drop(scratch)


def drill_figures() -> str:
    seconds, drill = timed(restore_drill_run)
    return f"drill {seconds:7.1f} s ({'identical' if drill.identical else 'DIFFERENT: ' + drill.error})"


def measure(count: int, *, drill: bool) -> float:
    """Print one line of figures for `count` tenants; the whole restore's seconds."""
    tenants_grow_to(count)
    dump_seconds, backup = timed(backup_create)
    restore_seconds = whole_restore_seconds(backup_files(backup).dump)
    print(
        f"{count:>5} tenants  {backup.rows:>10} rows  dump {backup.size_bytes / 1e6:8.1f} MB  "
        f"backup {dump_seconds:7.1f} s  restore {restore_seconds:7.1f} s  {drill_figures() if drill else ''}",
        flush=True,
    )
    return restore_seconds


def measure_one_tenant(count: int, whole_seconds: float) -> None:
    slug = MODEL_SLUG
    backup_seconds, backup = timed(backup_create, tenant_slug=slug)
    restore_seconds, _tenant = timed(
        tenant_restore, dump=backup_files(backup).dump, slug=slug, new_slug="restored"
    )
    share = restore_seconds / whole_seconds
    verdict = "met" if share < TARGET_SHARE else "MISSED"
    print(
        f"one tenant of {count}: dump {backup.size_bytes / 1e6:.1f} MB in {backup_seconds:.1f} s, "
        f"side-by-side restore {restore_seconds:.1f} s = {share:.1%} of the whole restore "
        f"(target < {TARGET_SHARE:.0%}: {verdict})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, nargs="+", default=[1, 200], help="Tenant counts to measure.")
    parser.add_argument(
        "--no-drill", action="store_true", help="Skip the drill (a second whole restore plus row counts)."
    )
    arguments = parser.parse_args()
    counts = sorted(arguments.tenants)
    print(f"bench/backup.py: database {BENCH_DATABASE}, backups in {os.environ['BACKUP_DIR']}", flush=True)
    database_prepare()
    try:
        with schema_context("public"):
            for count in counts:
                whole_seconds = measure(count, drill=not arguments.no_drill)
            measure_one_tenant(counts[-1], whole_seconds)
    finally:
        connection.close()
        database_drop(BENCH_DATABASE)
        for path in Path(os.environ["BACKUP_DIR"]).iterdir():
            path.unlink()
        Path(os.environ["BACKUP_DIR"]).rmdir()


if __name__ == "__main__":
    main()
