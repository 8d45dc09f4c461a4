"""The staff back office's operations page: health with details, backups, the last drill, open
alerts, failed uploads and syncs of the last days; staff only, and not on tenant hosts."""

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from ingest.models import SyncRun, SyncSource
from ops import backup_status
from ops.models import Incident
from ops.services import alert_raise
from tests.conftest import host_client, signed_in_client
from users.models import User

DRILL_LINE = "restore drill: 312 tables, 48120 rows, identical"


@pytest.fixture(autouse=True)
def quick_health(settings):
    settings.HEALTH_WORKER_TIMEOUT_SECONDS = 1


@pytest.fixture
def staff_client(public):
    client = host_client(None)
    client.force_login(User.objects.create_user("ops", password="x-long-password-1", is_staff=True))
    return client


def test_the_page_shows_health_alerts_failures_backups_and_the_drill(
    staff_client, alice, monkeypatch, purge_queue
):
    alert_raise(
        key="backup", kind=Incident.Kind.BACKUP_FAILED, title="Nightly backup failed", message="disk full"
    )
    with schema_context("alice"):
        source = SyncSource.objects.create(name="Alice shop", url="https://shop.example/sales")
        SyncRun.objects.create(
            source=source, status=SyncRun.Status.FAILED, error="HTTP 401 from the sales API"
        )
    finished = timezone.now() - dt.timedelta(hours=5)
    monkeypatch.setattr(
        backup_status,
        "backups_recent",
        lambda limit: [
            backup_status.BackupInfo("pulse-20261129T030000Z.dump", finished, 5 * 2**20, "cd" * 32, True)
        ],
    )
    monkeypatch.setattr(
        backup_status,
        "drill_last",
        lambda: backup_status.DrillInfo(
            finished, True, "pulse-20261129T030000Z.dump", 312, 48120, DRILL_LINE
        ),
    )

    page = staff_client.get("/admin/operations/").content.decode()

    assert "no worker answered on queue pulse-test within 1 s" in page  # health, with details
    assert "Nightly backup failed" in page and "disk full" in page
    assert "Alice Inc" in page and "Sync Alice shop" in page and "HTTP 401 from the sales API" in page
    assert "pulse-20261129T030000Z.dump" in page and "5.0\xa0MB" in page and "verified" in page
    assert DRILL_LINE in page


def test_without_backups_or_drills_the_page_says_what_to_run(staff_client, purge_queue):
    page = staff_client.get("/admin/operations/").content.decode()

    assert "No backup recorded. Run <code>manage.py backup</code>" in page
    assert "No restore drill has run yet." in page
    assert "No open alerts." in page


def test_only_staff_see_it(public):
    client = host_client(None)
    client.force_login(User.objects.create_user("nobody", password="x-long-password-1"))

    response = client.get("/admin/operations/")

    assert response.status_code == 302 and response.url.startswith("/admin/login/")


def test_a_tenant_admin_has_no_operations_page(alice):
    response = signed_in_client("alice").get("/admin/operations/")

    assert response.status_code == 404
