"""What API key authentication costs.

1. Key verification per request, in process: p50/p95 of resolving a presented key
   (indexed lookup by prefix + salted SHA-256 compare) over many runs.
2. Throughput on one gunicorn: GET /api/v1/me/ (key auth, quota counter, usage read,
   DRF) against GET /api/ping/ (a bare Django JSON view behind the same middleware),
   driven side by side by the same client processes; prints requests/s and the ratio
   (target: at least 60%).
3. Latency of a real list: p50/p95 of GET /api/v1/accounts/ (first page) with --accounts
   accounts in the bench tenant, one request at a time (target: p95 under 100 ms).

Run: `make bench` or `python bench/api_auth.py [--seconds 5] [--clients 4] [--accounts 10000]`.
"""

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from kpis.bulk import accounts_upsert_from  # noqa: E402
from playbooks.services import catalog_sync  # noqa: E402
from tenants.models import Plan, Tenant  # noqa: E402
from tenants.selectors import api_key_resolve  # noqa: E402
from tenants.services import (  # noqa: E402
    AdminSpec,
    api_key_create,
    base_schema_ensure,
    public_tenant_ensure,
    tenant_provision,
)
from tests.live_server import BOOT_SECONDS, free_port, wait_until_serving  # noqa: E402

SLUG = "bench-api"
THROUGHPUT_TARGET = 0.60
P95_TARGET_MS = 100.0
LATENCY_REQUESTS = 300


def bench_tenant_key() -> str:
    base_schema_ensure()
    catalog_sync(schema_name=settings.TENANT_BASE_SCHEMA)  # new tenants clone it, catalogs included
    public_tenant_ensure()
    tenant = Tenant.objects.filter(schema_name=SLUG).first() or tenant_provision(
        name="Bench API", slug=SLUG, admin=AdminSpec("Bench", "bench@example.com", "bench-password-1234")
    )
    tenant.plan = Plan.objects.get(name="enterprise")
    tenant.save(update_fields=["plan"])
    return api_key_create(tenant=tenant, name="bench")[1]


def accounts_fill(count: int) -> None:
    """`count` accounts in the bench tenant, set-based: a scratch table of generated rows, loaded
    by the same upsert the import pipeline uses."""
    tenant = Tenant.objects.get(schema_name=SLUG)
    with tenant_context(tenant), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TEMP TABLE bench_accounts ON COMMIT DROP AS
            SELECT 'BENCH-' || g AS external_id, 'Bench account ' || g AS name,
                   (g %% 500) * 1000 AS revenue, (ARRAY['Software', 'Retail', 'Health'])[g %% 3 + 1] AS industry,
                   'EMEA' AS region, 'active' AS status, DATE '2027-01-01' + g %% 365 AS renewal_date,
                   'owner' || g %% 20 AS owner
            FROM generate_series(1, %s) AS g
            """,
            [count],
        )
        accounts_upsert_from("bench_accounts")


def cleanup() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SLUG}" CASCADE')
    Tenant.objects.filter(schema_name=SLUG).delete()


def verification_ms(key: str, runs: int = 3000) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        api_key_resolve(key)
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)


def get(port: int, path: str, key: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Token {key}", "Host": "localhost"})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


def latency_ms(port: int, path: str, key: str, requests: int) -> list[float]:
    get(port, path, key)  # the worker's first request warms its caches
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        status = get(port, path, key)
        timings.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
    return sorted(timings)


def hammer(port: int, path: str, key: str, seconds: float) -> int:
    """One client process: sequential requests for `seconds`; returns how many got 200."""
    done, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        done += get(port, path, key) == 200
    return done


def throughput(port: int, path: str, key: str, clients: int, seconds: float) -> float:
    with ProcessPoolExecutor(max_workers=clients) as pool:
        counts = pool.map(hammer, [port] * clients, [path] * clients, [key] * clients, [seconds] * clients)
        return sum(counts) / seconds


def start_gunicorn(port: int, workers: int) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    env = {**os.environ, "DEBUG": "false"}
    process = subprocess.Popen(command, cwd=REPO, env=env)
    try:
        wait_until_serving(port, timeout=BOOT_SECONDS)
    except AssertionError:
        process.terminate()
        raise
    return process


def main(seconds: float, clients: int, workers: int, rounds: int, accounts: int) -> None:
    key = bench_tenant_key()
    try:
        accounts_fill(accounts)
        timings = verification_ms(key)
        print(
            f"key verification: p50 {timings[len(timings) // 2]:.3f} ms, "
            f"p95 {timings[int(len(timings) * 0.95)]:.3f} ms over {len(timings)} runs"
        )
        port = free_port()
        server = start_gunicorn(port, workers)
        try:
            results = {"/api/ping/": [], "/api/v1/me/": []}
            for _ in range(rounds):  # alternate, so drift hits both alike
                for path in results:
                    results[path].append(throughput(port, path, key, clients, seconds))
            listing = latency_ms(port, "/api/v1/accounts/", key, LATENCY_REQUESTS)
        finally:
            server.terminate()
            server.wait()
        report_throughput(results, clients, workers, rounds, seconds)
        report_latency(listing, accounts)
    finally:
        cleanup()


def report_throughput(results: dict, clients: int, workers: int, rounds: int, seconds: float) -> None:
    bare, me = (statistics.median(results[p]) for p in ("/api/ping/", "/api/v1/me/"))
    print(f"gunicorn {workers} workers, {clients} client processes, {rounds} x {seconds:.0f} s each (median)")
    print(f"bare JSON view /api/ping/: {bare:8.1f} req/s")
    print(f"GET /api/v1/me/:          {me:8.1f} req/s")
    met = "met" if me / bare >= THROUGHPUT_TARGET else "NOT met"
    # Clients and server share the machine's cores, so rounds differ: show each round's ratio.
    rounds_ratios = ", ".join(
        f"{100 * m / b:.0f}%" for b, m in zip(results["/api/ping/"], results["/api/v1/me/"], strict=True)
    )
    print(
        f"/api/v1/me/ runs at {100 * me / bare:.0f}% of the bare view's throughput "
        f"(target {100 * THROUGHPUT_TARGET:.0f}%: {met}; round by round {rounds_ratios})"
    )


def report_latency(timings: list[float], accounts: int) -> None:
    p50, p95 = timings[len(timings) // 2], timings[int(len(timings) * 0.95)]
    met = "met" if p95 < P95_TARGET_MS else "NOT met"
    print(
        f"GET /api/v1/accounts/ with {accounts} accounts: p50 {p50:.1f} ms, p95 {p95:.1f} ms over "
        f"{len(timings)} requests (target p95 < {P95_TARGET_MS:.0f} ms: {met})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--accounts", type=int, default=10_000)
    args = parser.parse_args()
    main(args.seconds, args.clients, args.workers, args.rounds, args.accounts)
