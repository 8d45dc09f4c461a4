"""A real gunicorn serving Pulse on loopback against the test database."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

from tests.celery_worker import REPO, test_database_url

# Booting four workers takes a few seconds on an idle machine and over 30 s on a shared 2-core
# one running other test suites and benchmarks; a slow boot is not a failure of the code.
BOOT_SECONDS = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(
    workers: int = 4,
    threads: int = 4,
    settings: str = "config.settings.test",
    env: dict | None = None,
    access_log=None,
):
    """Serve on a free loopback port; `settings` and `env` say what the server runs with (env adds
    to or overrides its environment, e.g. a small upload limit); `access_log` is a path where
    gunicorn logs each request and the status it answered."""
    port = free_port()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings,
        "DATABASE_URL": test_database_url(),
        **(env or {}),
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--log-level",
        "warning",
        *(["--access-logfile", str(access_log)] if access_log else []),
    ]
    process = subprocess.Popen(command, cwd=REPO, env=environment)
    try:
        wait_until_serving(port, timeout=BOOT_SECONDS)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=BOOT_SECONDS)


def wait_until_serving(port: int, timeout: float = 30.0) -> None:
    """Polls the liveness probe, which answers plain HTTP under every settings module."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/ping/", timeout=2)
            return
        except urllib.error.HTTPError:
            return  # any answer means it serves (without a tenant yet, this host is unknown)
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start serving")
