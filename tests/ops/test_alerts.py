"""Alerts reach people: a local Slack-style webhook receiver and a local SMTP server (aiosmtpd),
both started here; a real worker delivers. Once per incident, a reminder, then "resolved"."""

import datetime as dt
import email
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tenants.utils import schema_context

from ingest.models import Upload
from ingest.tasks import resume_stalled_uploads
from ops.backups import BackupFailed
from ops.models import Delivery, Incident
from ops.services import alert_raise, alert_resolve, alerts_remind, delivery_send
from ops.tasks import backup_nightly, health_check_run, restore_drill
from tests.celery_worker import celery_worker, wait_for
from tests.live_server import free_port

ONCALL = "oncall@pulse.example"


class SlackReceiver:
    """An incoming-webhook stand-in: records each JSON body; answers 500 while `failures` lasts."""

    def __init__(self):
        self.texts: list[str] = []
        self.failures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.failures:
                    receiver.failures -= 1
                    self.send_response(500)
                else:
                    receiver.texts.append(body["text"])
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/XXX"


class Mailbox:
    """aiosmtpd's handler: keeps (recipients, subject) of every message."""

    def __init__(self):
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        self.messages.append((envelope.rcpt_tos, message["Subject"]))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [subject for _to, subject in self.messages]


@pytest.fixture
def slack():
    receiver = SlackReceiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
    thread.join()


@pytest.fixture
def mailbox():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture
def channels(settings, slack, mailbox):
    """Both channels configured, in this process and (as environment) for the worker."""
    settings.SLACK_WEBHOOK = slack.url
    settings.ALERT_EMAIL = [ONCALL]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", mailbox.port
    return {
        "SLACK_WEBHOOK": slack.url,
        "ALERT_EMAIL": ONCALL,
        "EMAIL_URL": f"smtp://127.0.0.1:{mailbox.port}",
    }


@pytest.fixture
def delivering(channels, purge_queue, transactional_db):
    with celery_worker(queues=["pulse-test"], environment=channels):
        yield


def raise_backup_failed() -> Incident:
    return alert_raise(
        key="backup",
        kind=Incident.Kind.BACKUP_FAILED,
        title="Nightly backup failed",
        message="pg_dump exited 1",
    )


def test_an_alert_reaches_both_once_then_its_reminder_then_resolved(delivering, slack, mailbox):
    incident = raise_backup_failed()
    wait_for(lambda: len(slack.texts) == 1 and len(mailbox.messages) == 1)
    assert slack.texts[0].startswith("*Backup failed: Nightly backup failed*\npg_dump exited 1")
    assert mailbox.messages[0] == ([ONCALL], "[Pulse] Backup failed: Nightly backup failed")

    assert raise_backup_failed().pk == incident.pk  # still the same incident: nobody is told again
    assert alerts_remind() == 0  # not yet ALERT_REPEAT_HOURS since
    Incident.objects.filter(pk=incident.pk).update(notified_at=timezone.now() - dt.timedelta(hours=25))
    assert alerts_remind() == 1
    wait_for(lambda: len(slack.texts) == 2 and len(mailbox.messages) == 2)
    assert mailbox.subjects()[1] == "[Pulse] Reminder, still open: Nightly backup failed"

    alert_resolve(key="backup")
    wait_for(lambda: len(slack.texts) == 3 and len(mailbox.messages) == 3)
    assert slack.texts[2].startswith("*Resolved: Nightly backup failed*")
    assert mailbox.subjects()[2] == "[Pulse] Resolved: Nightly backup failed"

    assert alert_resolve(key="backup") is None  # resolving twice says nothing more
    assert alerts_remind() == 0
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 6 == Delivery.objects.count()
    assert (len(slack.texts), len(mailbox.messages)) == (3, 3)


def test_a_failed_delivery_is_retried_and_arrives_once(delivering, slack, mailbox):
    slack.failures = 1

    incident = raise_backup_failed()

    wait_for(lambda: len(slack.texts) == 1)
    slack_delivery = incident.deliveries.get(channel=Delivery.Channel.SLACK)
    assert (slack_delivery.status, slack_delivery.attempts, slack_delivery.error) == ("sent", 2, "")
    assert len(mailbox.messages) == 1


def test_the_raiser_never_waits_for_a_channel_that_is_down(channels, settings, transactional_db, purge_queue):
    settings.SLACK_WEBHOOK = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens

    incident = raise_backup_failed()  # queues the messages and returns

    slack_delivery = incident.deliveries.get(channel=Delivery.Channel.SLACK)
    assert slack_delivery.status == Delivery.Status.QUEUED
    assert delivery_send(delivery_id=slack_delivery.pk).startswith("Slack could not be reached")
    slack_delivery.refresh_from_db()
    assert (slack_delivery.status, slack_delivery.attempts) == (Delivery.Status.QUEUED, 1)  # for the retry


def test_a_sent_message_is_never_sent_again(channels, slack, transactional_db, purge_queue):
    incident = raise_backup_failed()
    slack_delivery = incident.deliveries.get(channel=Delivery.Channel.SLACK)

    assert delivery_send(delivery_id=slack_delivery.pk) == ""
    assert delivery_send(delivery_id=slack_delivery.pk) is None  # a redelivered task

    assert len(slack.texts) == 1


def test_alerts_test_sends_to_every_channel(channels, slack, mailbox, capsys):
    call_command("alerts_test")

    assert capsys.readouterr().out.splitlines() == ["slack: sent", "email: sent"]
    assert slack.texts[0].startswith("*Test alert*")
    assert mailbox.subjects() == ["[Pulse] Test alert"]


def test_alerts_test_exits_non_zero_when_a_channel_fails(channels, settings, mailbox, capsys):
    settings.SLACK_WEBHOOK = f"http://127.0.0.1:{free_port()}/hook"

    with pytest.raises(CommandError, match="test alert not delivered to slack"):
        call_command("alerts_test")

    assert "email: sent" in capsys.readouterr().out
    assert len(mailbox.messages) == 1


def test_alerts_test_without_channels_says_what_to_set(settings):
    settings.SLACK_WEBHOOK, settings.ALERT_EMAIL = "", []

    with pytest.raises(CommandError, match="set SLACK_WEBHOOK and/or ALERT_EMAIL"):
        call_command("alerts_test")


def test_an_unknown_kind_is_refused(db):
    with pytest.raises(ValueError, match="Unknown alert kind 'typo'"):
        alert_raise(key="x", kind="typo", title="x", message="x")


def test_stalled_uploads_open_an_incident_and_a_clean_sweep_resolves_it(alice, purge_queue):
    with schema_context("alice"):
        upload = Upload.objects.create(
            kind=Upload.Kind.ACCOUNTS, original_name="a.csv", stored_path="x", size=1
        )
        Upload.objects.filter(pk=upload.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))
        assert resume_stalled_uploads() == 1
        Upload.objects.filter(pk=upload.pk).update(status=Upload.Status.COMPLETED)

        incident = Incident.objects.get()
        assert (incident.key, incident.kind) == ("uploads_stalled:alice:uploads", "uploads_stalled")

        assert resume_stalled_uploads() == 0

    incident.refresh_from_db()
    assert not incident.is_open


def test_a_failing_health_check_raises_its_incident_and_resolves_when_it_passes(
    public, settings, purge_queue
):
    settings.HEALTH_WORKER_TIMEOUT_SECONDS = 1
    settings.HEALTH_MIN_FREE_DISK_PERCENT = 100

    assert health_check_run() is False

    open_keys = set(Incident.objects.filter(resolved_at__isnull=True).values_list("key", flat=True))
    assert open_keys == {"health:worker", "health:backup", "health:disk"}
    settings.HEALTH_MIN_FREE_DISK_PERCENT = 0

    health_check_run()

    assert Incident.objects.get(key="health:disk").resolved_at is not None


def test_a_failed_nightly_backup_opens_an_incident_and_fails_the_task(db, monkeypatch):
    def failing_backup():
        raise BackupFailed("pg_dump exited 1: disk full")

    monkeypatch.setattr("ops.tasks.backup_create", failing_backup)

    with pytest.raises(BackupFailed):
        backup_nightly()

    incident = Incident.objects.get()
    assert incident.kind == "backup_failed" and "disk full" in incident.message


def test_a_restore_drill_without_a_backup_opens_an_incident_and_fails_the_task(db):
    with pytest.raises(RuntimeError, match="No complete backup"):
        restore_drill()

    incident = Incident.objects.get()
    assert incident.kind == "drill_failed" and "manage.py backup" in incident.message
