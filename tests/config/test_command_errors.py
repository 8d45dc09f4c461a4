"""A command whose PostgreSQL or Redis does not answer says what to do and exits non-zero, with no
traceback (manage.py runs every command inside config.command_errors.plain_errors)."""

import os
import subprocess
import sys

import pytest
from django.db import connection
from django.db.utils import OperationalError
from django_tenants.utils import schema_context

from config.command_errors import plain_errors, unreachable_message
from ingest.models import Upload
from tests import celery_worker
from tests.live_server import free_port as closed_port

# Set in this process by the test settings; a newcomer's shell has none of them.
SET_BY_TEST_SETTINGS = ("DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG", "SEED_DEMO_DATA")


def manage(*args: str, **environment: str) -> subprocess.CompletedProcess:
    """manage.py as a newcomer types it: default (local) settings unless told otherwise."""
    base = {name: value for name, value in os.environ.items() if name not in SET_BY_TEST_SETTINGS}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=celery_worker.REPO,
        env={**base, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_command_without_its_database_says_what_to_do():
    result = manage(
        "create_api_key",
        "--tenant",
        "demo",
        "--name",
        "x",
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{closed_port()}/pulse",
        REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0",
    )

    assert result.returncode == 1
    assert "Pulse cannot reach the database server in DATABASE_URL" in result.stderr
    assert "Connection refused" in result.stderr
    assert "`make run`" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_data_import_without_redis_says_what_to_do_and_writes_nothing(committed_tenants, tmp_path):
    committed_tenants("alice")
    kpis = tmp_path / "kpis.csv"
    kpis.write_text("account,kpi,period,value\nACC-1,nps,2026-10,35\n")

    result = manage(
        "import_data",
        "--tenant",
        "alice",
        "--kind",
        "kpis",
        str(kpis),
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=celery_worker.test_database_url(),
        REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0",
        MEDIA_ROOT=str(tmp_path / "media"),
    )

    assert result.returncode == 1
    assert "Pulse cannot reach the Redis server in REDIS_URL" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    with schema_context("alice"):
        assert not Upload.objects.exists()


def test_with_nothing_configured_the_message_points_to_make_run(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    refused = OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    message = unreachable_message("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/pulse", refused)

    assert message.startswith("Pulse cannot reach its database.")
    assert "Start Pulse with `make run` in another terminal (it starts an embedded PostgreSQL)" in message
    assert "or set DATABASE_URL to your own server" in message
    assert "postgresql://postgres@127.0.0.1:5432/pulse" in message
    assert "Connection refused" in message


def test_the_message_never_shows_the_password_of_a_configured_url(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://:s3cret@cache.example.com:6379/0")

    message = unreachable_message("REDIS_URL", "redis://:s3cret@cache.example.com:6379/0", OSError("refused"))

    assert "s3cret" not in message
    assert "Start that server or correct REDIS_URL" in message


def test_a_database_error_after_connecting_keeps_its_traceback(db):
    connection.ensure_connection()

    with pytest.raises(OperationalError, match="deadlock detected"), plain_errors():
        raise OperationalError("deadlock detected")


def test_ctrl_c_ends_a_command_quietly_with_the_status_of_an_interrupt():
    with pytest.raises(SystemExit) as ended, plain_errors():
        raise KeyboardInterrupt

    assert ended.value.code == 130
