"""A real gunicorn serving Pulse on loopback against the test database."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

from tests.celery_worker import REPO, test_database_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(workers: int = 4, threads: int = 4, environment: dict[str, str] | None = None, access_log=None):
    """`environment` adds to (or overrides) the server's environment, e.g. a small upload limit;
    `access_log` is a path where gunicorn logs each request and the status it answered."""
    port = free_port()
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": test_database_url(),
        **(environment or {}),
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
        wait_until_serving(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_serving(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/schema/", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start serving")
