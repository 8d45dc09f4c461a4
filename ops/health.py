"""The checks behind GET /health/ and `manage.py health_check`. Each answers ok or failed with a
detail for staff; details are counts, ages and messages, never a tenant's name or data."""

import datetime as dt
import logging
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from celery.exceptions import TimeoutError as NoAnswer
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context
from kombu import Connection

from ingest.selectors import import_failures_since
from ops import backup_status
from tenants.selectors import schemas_missing_migrations, tenant_app_schemas

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 3


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def health_checks() -> list[Check]:
    """Run every check, in the public schema whatever host asked."""
    with schema_context(get_public_schema_name()):
        checks = []
        for name, check in CHECKS:
            checks.append(_run(name, check, checks))
        return checks


def _run(name: str, check: Callable[[list[Check]], tuple[bool, str]], earlier: list[Check]) -> Check:
    try:
        ok, detail = check(earlier)
    except Exception as error:  # a check that cannot run is a failed check, with the reason
        logger.exception("Health check %s could not run", name)
        ok, detail = False, f"{type(error).__name__}: {error}"[:500]
    return Check(name=name, ok=ok, detail=detail)


def _database(_earlier) -> tuple[bool, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return True, f"PostgreSQL {connection.pg_version // 10000} answers"


def _broker(_earlier) -> tuple[bool, str]:
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT_SECONDS) as broker:
        broker.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT_SECONDS
        )
    return True, "reachable"


def _worker(earlier: list[Check]) -> tuple[bool, str]:
    """A real round trip: a task through the default queue, answered by a worker in time."""
    from ops.tasks import health_ping  # tasks import the services that import this module

    if not next(check.ok for check in earlier if check.name == "broker"):
        return False, "not tried: the broker is unreachable"
    token = uuid.uuid4().hex
    timeout = settings.HEALTH_WORKER_TIMEOUT_SECONDS
    started = timezone.now()
    # Expires with the wait: a ping no worker took in time is dropped, not answered hours later.
    result = health_ping.apply_async((token,), retry=False, expires=timeout)
    try:
        answer = result.get(timeout=timeout, propagate=False, interval=0.2)
    except NoAnswer:
        return False, f"no worker answered on queue {settings.CELERY_TASK_DEFAULT_QUEUE} within {timeout} s"
    finally:
        result.forget()
    seconds = (timezone.now() - started).total_seconds()
    return answer == token, f"a worker answered in {seconds:.2f} s"


def _migrations(_earlier) -> tuple[bool, str]:
    """Every schema's django_migrations against the migration files, read from disk once and
    from the database in one query across schemas, where Django's executor per schema costs
    25-100 ms: seconds at a few hundred tenants."""
    missing = schemas_missing_migrations([get_public_schema_name(), *tenant_app_schemas()])
    behind = sum(bool(names) for names in missing.values())
    return not behind, f"{behind} of {len(missing)} schema(s) have migrations not applied"


def _backup(_earlier) -> tuple[bool, str]:
    newest = backup_status.newest_backup()
    if newest is None:
        return False, "no backup recorded"
    hours = (timezone.now() - newest.finished_at).total_seconds() / 3600
    limit = settings.BACKUP_MAX_AGE_HOURS
    return hours <= limit, f"newest backup {hours:.1f} h old (limit {limit} h)"


def _imports(_earlier) -> tuple[bool, str]:
    since = timezone.now() - dt.timedelta(hours=24)
    uploads = syncs = 0
    for schema in tenant_app_schemas():
        with schema_context(schema):
            failures = import_failures_since(since=since)
        uploads += failures["uploads_failed"]
        syncs += failures["syncs_failed"]
    return not (
        uploads or syncs
    ), f"{uploads} upload(s) failed unexpectedly, {syncs} sync run(s) failed in 24 h"


def _disk(_earlier) -> tuple[bool, str]:
    path = Path(settings.MEDIA_ROOT)
    while not path.exists():  # a fresh install has no media folder yet; its disk is the same
        path = path.parent
    usage = shutil.disk_usage(path)
    free = 100 * usage.free / usage.total
    minimum = settings.HEALTH_MIN_FREE_DISK_PERCENT
    return free >= minimum, f"{free:.0f}% free ({usage.free / 2**30:.1f} GiB; minimum {minimum}%)"


CHECKS = [
    ("database", _database),
    ("broker", _broker),
    ("worker", _worker),
    ("migrations", _migrations),
    ("backup", _backup),
    ("imports", _imports),
    ("disk", _disk),
]
