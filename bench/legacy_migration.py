"""What migrate_legacy costs, and what a taken-over key costs per request.

1. Writes the predecessor's JSON files for N clients (two keys, usage and a short document each),
   runs `migrate_legacy` on them and prints the seconds per client; then runs it again (nothing to
   do) and prints that time.
2. Resolves a migrated key and a Pulse key many times each: p50/p95 of each lookup.

Run: `python bench/legacy_migration.py [--clients 20]` against DATABASE_URL's database (after
`manage.py bootstrap`). The tenants it makes are dropped at the end.
"""

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django  # noqa: E402

django.setup()

from django.core.management import CommandError, call_command  # noqa: E402
from django.db import connection  # noqa: E402

from tenants.models import Tenant  # noqa: E402
from tenants.selectors import api_key_resolve  # noqa: E402
from tenants.services import api_key_create  # noqa: E402

PREFIX = "bench_legacy_"


def files_write(folder: Path, clients: int) -> str:
    """The predecessor's four files for `clients` clients; returns one of their keys."""
    records = {kind: [] for kind in ("clients", "api_keys", "usage", "documents")}
    for n in range(clients):
        client_id = f"{PREFIX}{n:05d}"
        records["clients"].append(
            {
                "client_id": client_id,
                "company_name": f"Bench Legacy {n}",
                "contact_email": f"owner{n}@bench.example",
                "contact_name": f"Owner {n}",
                "plan_type": "starter",
                "status": "active",
                "max_documents": 500,
                "max_requests_per_month": 50000,
                "created_at": "2024-01-01T00:00:00Z",
            }
        )
        for k in range(2):
            records["api_keys"].append(
                {
                    "key_id": f"{client_id}_key{k}",
                    "client_id": client_id,
                    "key_name": f"key {k}",
                    "api_key": f"cb_bench_{n:05d}_{k}_{'x' * 24}",
                    "created_at": "2024-01-02T00:00:00Z",
                }
            )
        records["usage"].append(
            {
                "client_id": client_id,
                "total_requests": 500,
                "requests_this_month": 20,
                "total_documents": 3,
                "documents_this_month": 1,
                "monthly_reset": "2026-11-01T00:00:00Z",
            }
        )
        records["documents"].append(
            {
                "client_id": client_id,
                "doc_id": "faq",
                "title": "FAQ",
                "created_at": "2024-01-03T00:00:00Z",
                "updated_at": "2024-01-03T00:00:00Z",
                "content": "Support answers within one working day. "
                "Refunds are possible within thirty days of purchase.",
            }
        )
    for kind, items in records.items():
        (folder / f"{kind}.json").write_text(json.dumps(items))
    return records["api_keys"][0]["api_key"]


def timed_migration(folder: Path) -> float:
    started = time.perf_counter()
    try:
        call_command("migrate_legacy", str(folder), stdout=io.StringIO())
    except CommandError as error:
        raise SystemExit(f"the migration skipped records: {error}") from error
    connection.set_schema_to_public()
    return time.perf_counter() - started


def lookup_ms(keys: dict[str, str], runs: int = 3000) -> dict[str, tuple[float, float]]:
    """p50 and p95 of resolving each key, the keys taken in turn so both see the same load."""
    timings = {label: [] for label in keys}
    for _ in range(runs):
        for label, key in keys.items():
            started = time.perf_counter()
            api_key_resolve(key)
            timings[label].append((time.perf_counter() - started) * 1000)
    return {label: (statistics.median(t), statistics.quantiles(t, n=20)[-1]) for label, t in timings.items()}


def cleanup() -> None:
    tenants = Tenant.objects.filter(legacy_client_id__startswith=PREFIX)
    with connection.cursor() as cursor:
        for slug in tenants.values_list("schema_name", flat=True):
            cursor.execute(f'DROP SCHEMA IF EXISTS "{slug}" CASCADE')
    tenants.delete()


def main(clients: int) -> None:
    cleanup()
    with tempfile.TemporaryDirectory() as folder:
        legacy_key = files_write(Path(folder), clients)
        try:
            first = timed_migration(Path(folder))
            print(f"migrate_legacy, {clients} clients: {first:.1f} s, {first / clients:.2f} s per client")
            print(f"second run (nothing to do): {timed_migration(Path(folder)):.1f} s")
            pulse_key = api_key_create(tenant=api_key_resolve(legacy_key).tenant, name="bench")[1]
            for label, (p50, p95) in lookup_ms({"migrated key": legacy_key, "Pulse key": pulse_key}).items():
                print(f"{label} lookup: p50 {p50:.3f} ms, p95 {p95:.3f} ms over 3000 runs")
        finally:
            cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    main(parser.parse_args().clients)
