"""Many tenants: deploy time, the dispatchers' fan-out and a web worker's memory at N tenants.

Works in a database of its own (`<your database>_bench_tenants`, dropped at the end, with every
bench tenant in it). `manage.py bootstrap` makes it as a deploy would (public schema, template,
the demo tenant with its data and its five demo peers); then 2 copies of the demo tenant (data
included) and empty tenants up to N are cloned from the demo and template schemas with
schema_clone_many (the source's catalog read once, a handful of SQL statements per tenant, two
connections at once; the tenant and domain rows in one bulk insert each). Then, side by side:

- a deploy with nothing to migrate: `manage.py bootstrap` against stock `manage.py migrate_schemas`;
- the fan-out of the hourly and nightly dispatchers (time to queue one task per tenant, on a queue
  of the bench's own that is deleted afterwards);
- the resident memory of a Django process serving pages (the test client) after one tenant and
  after a GET of /login/ on every tenant's host;
- a deploy with one new migration: a throwaway tenant app (in a temporary folder, added through a
  settings module written there) gains a harmless migration for `bootstrap --processes P` (for
  each P asked), then its next one for stock `migrate_schemas`.

Every line ends with the machine's load average at that moment: the machine may be shared.
Run: `python bench/tenants_many.py --tenants 500 --processes 1 2` (develop with `--tenants 50`).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DEBUG", "false")
os.environ["SEED_DEMO_DATA"] = "false"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

# Before the first connection: every connection of this process goes to the bench database.
BENCH_DATABASE = settings.DATABASES["default"]["NAME"] + "_bench_tenants"
settings.DATABASES["default"]["NAME"] = BENCH_DATABASE

from django.db import connection  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from config.celery import app as celery_app  # noqa: E402
from config.env import DATABASE_URL  # noqa: E402
from ops.pgtools import database_create, database_drop  # noqa: E402
from tenants.models import Domain, Tenant  # noqa: E402
from tenants.schema_clone import schema_clone_many  # noqa: E402
from tenants.services import tenant_host  # noqa: E402

DEMO_SLUG = "demo"
DEMO_COPIES = 2  # with demo data, as the demo tenant itself; the rest are empty
CLONING_CONNECTIONS = 2
BENCH_QUEUE = "bench-tenants-many"
BENCH_APP = "bench_deploy_app"
# The dispatchers beat fires hourly and nightly (ops/schedules.py), by their task names.
DISPATCHERS = {
    "hourly schema checks": "tenants.tasks.dispatch_health_checks",
    "hourly sales syncs": "ingest.tasks.dispatch_sales_syncs",
    "nightly notifications": "playbooks.tasks.dispatch_notifications_daily",
}
MIGRATION = '''from django.db import migrations


class Migration(migrations.Migration):
    """Harmless: a one-column table the bench drops with its database."""

    dependencies = {dependencies}
    operations = [migrations.RunSQL("CREATE TABLE bench_deploy_{number} (id integer)")]
'''
SETTINGS = f"""from config.settings.local import *  # noqa: F403

TENANT_APPS = [*TENANT_APPS, "{BENCH_APP}"]  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "{BENCH_APP}"]  # noqa: F405
"""


def load() -> str:
    with open("/proc/loadavg") as file:
        return "load " + " ".join(file.read().split()[:3])


def subprocess_env(**extra: str) -> dict:
    """This process's environment, with DATABASE_URL naming the bench database."""
    url = urlsplit(DATABASE_URL)
    return {**os.environ, "DATABASE_URL": urlunsplit(url._replace(path=f"/{BENCH_DATABASE}")), **extra}


def manage_timed(*arguments: str, **extra_env: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", *arguments, "--verbosity", "0"],
        cwd=ROOT,
        env=subprocess_env(**extra_env),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def tenants_create(count: int) -> float:
    """Tenants up to `count`: 2 copies of the demo (its data included), the rest copies of the
    template (empty), cloned by two connections at once. Seconds."""
    started = time.perf_counter()
    demo = Tenant.objects.get(schema_name=DEMO_SLUG)
    existing = Tenant.objects.exclude(schema_name="public").count()
    slugs = [f"bench-{number:04d}" for number in range(existing + 1, count + 1)]
    Tenant.objects.bulk_create(Tenant(schema_name=slug, name=slug, plan=demo.plan) for slug in slugs)
    tenants = Tenant.objects.in_bulk(slugs, field_name="schema_name")
    Domain.objects.bulk_create(
        Domain(tenant=tenants[slug], domain=tenant_host(slug), is_primary=True) for slug in slugs
    )
    copies = [(DEMO_SLUG, slugs[:DEMO_COPIES])]
    empty = slugs[DEMO_COPIES:]
    copies += [
        (settings.TENANT_BASE_SCHEMA, empty[half::CLONING_CONNECTIONS]) for half in range(CLONING_CONNECTIONS)
    ]
    with ThreadPoolExecutor(CLONING_CONNECTIONS) as pool:
        list(pool.map(lambda copy: clone_in_thread(*copy), copies))
    return time.perf_counter() - started


def clone_in_thread(source: str, targets: list[str]) -> None:
    try:
        schema_clone_many(source=source, targets=targets)
    finally:
        connection.close()  # the thread's own connection


def deploy_app_write(folder: Path, migrations: int) -> None:
    """The throwaway tenant app with `migrations` migrations, each after the one before."""
    package = folder / BENCH_APP / "migrations"
    package.mkdir(parents=True, exist_ok=True)
    for path in (folder / BENCH_APP / "__init__.py", package / "__init__.py"):
        path.touch()
    for number in range(1, migrations + 1):
        dependencies = [(BENCH_APP, f"{number - 1:04d}_step")] if number > 1 else []
        text = MIGRATION.format(dependencies=dependencies, number=number)
        (package / f"{number:04d}_step.py").write_text(text)


def nothing_to_migrate_measure() -> None:
    stock = manage_timed("migrate_schemas", "--noinput")
    bootstrap = manage_timed("bootstrap")
    print(
        f"nothing to migrate:  stock migrate_schemas {stock:7.1f} s   bootstrap {bootstrap:6.1f} s"
        f"   ({stock / bootstrap:.1f}x)   [{load()}]",
        flush=True,
    )


def one_migration_measure(folder: Path, processes: list[int]) -> None:
    """Each deploy meets a migration of its own (the one after the last deploy's); stock
    migrate_schemas last, as it takes longest."""
    (folder / "bench_deploy_settings.py").write_text(SETTINGS)
    deploy_settings = {"DJANGO_SETTINGS_MODULE": "bench_deploy_settings", "PYTHONPATH": str(folder)}
    timings = {}
    for deploy, count in enumerate(processes, start=1):
        deploy_app_write(folder, migrations=deploy)
        timings[count] = manage_timed("bootstrap", "--processes", str(count), **deploy_settings)
        print(
            f"one new migration:   bootstrap --processes {count}  {timings[count]:6.1f} s   [{load()}]",
            flush=True,
        )
    deploy_app_write(folder, migrations=len(processes) + 1)
    stock = manage_timed("migrate_schemas", "--noinput", **deploy_settings)
    ratios = ", ".join(
        f"{stock / seconds:.1f}x bootstrap --processes {count}" for count, seconds in timings.items()
    )
    print(f"one new migration:   stock migrate_schemas {stock:7.1f} s   ({ratios})   [{load()}]", flush=True)


def fan_out_measure() -> None:
    """Each dispatcher run as beat's worker runs it, its tasks sent to the bench's own queue."""
    celery_app.conf.task_routes = {"*": {"queue": BENCH_QUEUE}}
    try:
        with celery_app.connection_for_write() as broker:
            channel = broker.default_channel
            for label, name in DISPATCHERS.items():
                started = time.perf_counter()
                queued = import_string(name)()
                seconds = time.perf_counter() - started
                waiting = channel.client.llen(BENCH_QUEUE)
                channel.queue_purge(BENCH_QUEUE)
                print(
                    f"fan-out {label:<22} {queued:>5} tasks ({waiting} on the queue) in {seconds:6.2f} s"
                    f"   [{load()}]",
                    flush=True,
                )
    finally:
        with celery_app.connection_for_write() as broker:
            broker.default_channel.queue_delete(BENCH_QUEUE)


def worker_memory_measure() -> None:
    """A fresh Django process, so that this one's history does not count in the figures."""
    output = subprocess.run(
        [sys.executable, __file__, "--touch-every-tenant"],  # it finds the bench database as this one did
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    print(
        f"web process RSS: {figures['before']:.1f} MB after one tenant, {figures['after']:.1f} MB after "
        f"{figures['hosts']} tenants' /login/ ({figures['after'] - figures['before']:+.1f} MB)   [{load()}]",
        flush=True,
    )


def rss_megabytes() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def touch_every_tenant() -> None:
    """In the child process: GET /login/ on every tenant's host, RSS before and after, as JSON."""
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
    client = Client()
    hosts = list(Domain.objects.exclude(tenant__schema_name="public").values_list("domain", flat=True))

    def get(host: str) -> None:
        response = client.get("/login/", HTTP_HOST=host)
        if response.status_code != 200:
            raise RuntimeError(f"GET http://{host}/login/ answered {response.status_code}")

    get(hosts[0])
    before = rss_megabytes()
    for host in hosts:
        get(host)
    print(json.dumps({"before": before, "after": rss_megabytes(), "hosts": len(hosts)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=500, help="Tenants to measure at (default 500).")
    parser.add_argument(
        "--processes",
        type=int,
        nargs="+",
        default=[2],
        help="bootstrap's --processes to time the one-migration deploy with (default 2; e.g. 1 2).",
    )
    parser.add_argument("--touch-every-tenant", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.touch_every_tenant:
        touch_every_tenant()
        return
    print(f"bench/tenants_many.py: {arguments.tenants} tenants in database {BENCH_DATABASE}", flush=True)
    database_drop(BENCH_DATABASE)
    database_create(BENCH_DATABASE)
    try:
        prepare = manage_timed("bootstrap", SEED_DEMO_DATA="true")
        with schema_context("public"):
            seconds = tenants_create(arguments.tenants)
        print(
            f"made: bootstrap with the demo tenant and its peers {prepare:.1f} s; up to {arguments.tenants} "
            f"tenants ({DEMO_COPIES} more with the demo's data) in {seconds:.1f} s   [{load()}]",
            flush=True,
        )
        connection.close()
        nothing_to_migrate_measure()
        with schema_context("public"):
            fan_out_measure()
        worker_memory_measure()
        with tempfile.TemporaryDirectory(prefix="pulse-bench-tenants-") as folder:
            one_migration_measure(Path(folder), arguments.processes)
    finally:
        connection.close()
        database_drop(BENCH_DATABASE)


if __name__ == "__main__":
    main()
