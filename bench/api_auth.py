"""What API key authentication costs.

1. Key verification per request, in process: p50/p95 of resolving a presented key
   (indexed lookup by prefix + salted SHA-256 compare) over many runs.
2. Throughput on one gunicorn: GET /api/v1/me/ (key auth, quota counter, usage read,
   DRF) against GET /api/ping/ (a bare Django JSON view behind the same middleware),
   driven side by side by the same client processes; prints requests/s and the ratio.

Run: `make bench` or `python bench/api_auth.py [--seconds 5] [--clients 4]`.
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
from django.db import connection  # noqa: E402

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
from tests.live_server import free_port, wait_until_serving  # noqa: E402

SLUG = "bench-api"


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


def hammer(port: int, path: str, key: str, seconds: float) -> int:
    """One client process: sequential requests for `seconds`; returns how many got 200."""
    done, deadline = 0, time.monotonic() + seconds
    headers = {"Authorization": f"Token {key}", "Host": "localhost"}
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        conn.close()
        done += response.status == 200
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
    wait_until_serving(port)
    return process


def main(seconds: float, clients: int, workers: int, rounds: int) -> None:
    key = bench_tenant_key()
    try:
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
        finally:
            server.terminate()
            server.wait()
        bare, me = (statistics.median(results[p]) for p in ("/api/ping/", "/api/v1/me/"))
        print(
            f"gunicorn {workers} workers, {clients} client processes, {rounds} x {seconds:.0f} s each (median)"
        )
        print(f"bare JSON view /api/ping/: {bare:8.1f} req/s")
        print(f"GET /api/v1/me/:          {me:8.1f} req/s")
        print(f"/api/v1/me/ runs at {100 * me / bare:.0f}% of the bare view's throughput")
    finally:
        cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    main(args.seconds, args.clients, args.workers, args.rounds)
