"""Start a real Celery worker process against the test database and the real broker."""

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection

from config import env

REPO = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """DATABASE_URL with its database name swapped for pytest-django's test database."""
    parts = urlsplit(env.DATABASE_URL)
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


def process_environment() -> dict[str, str]:
    """For a Pulse process the test starts: the test settings, database and media folder."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": test_database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),  # tests keep raw files in their own folder
    }


@contextmanager
def celery_worker(
    pool: str = "solo", queues: list[str] | None = None, concurrency: int = 1, environment: dict | None = None
):
    """A worker on the default and the ingest queue unless `queues` names some (the Procfile
    runs one worker per queue). pool="prefork" runs tasks in child processes, which a test may
    kill; concurrency is the number of those processes. `environment` adds variables (e.g.
    where alerts go)."""
    queues = queues or [settings.CELERY_TASK_DEFAULT_QUEUE, settings.INGEST_QUEUE]
    options = {
        "--pool": pool,
        "--concurrency": concurrency,
        "--queues": ",".join(queues),
        "--hostname": f"test-{uuid.uuid4().hex[:8]}@%h",  # two workers at once need two names
        "--include": "tests.worker_tasks",
        "--loglevel": "WARNING",
    }
    command = [sys.executable, "-m", "celery", "-A", "config", "worker"]
    command += [f"{name}={value}" for name, value in options.items()]
    command += ["--without-heartbeat", "--without-gossip", "--without-mingle"]
    process = subprocess.Popen(command, cwd=REPO, env={**process_environment(), **(environment or {})})
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_for(predicate, timeout: float = 30.0):
    """Poll until predicate() is truthy (the worker runs in another process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"condition not met within {timeout}s")
