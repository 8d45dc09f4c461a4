"""/health/ serves every host but never names a tenant or its data, and a tenant's own admins
(staff of their workspace only) get the public answer, not the details."""

import json

import pytest
from django_tenants.utils import schema_context

from ingest.models import SyncRun, SyncSource
from tests.conftest import host_client, signed_in_client

TOKEN = "health-token-for-isolation-tests"
SECRET_NAMES = ["alice", "Alice", "Zebra Wholesale", "zebra-wholesale.example", "HTTP 401 for zebra"]


@pytest.fixture(autouse=True)
def quick_health(settings, purge_queue):
    settings.HEALTH_WORKER_TIMEOUT_SECONDS = 1
    settings.HEALTH_TOKEN = TOKEN


@pytest.fixture
def alices_failure(alice, bob):
    with schema_context("alice"):
        source = SyncSource.objects.create(
            name="Zebra Wholesale", url="https://zebra-wholesale.example/sales"
        )
        SyncRun.objects.create(source=source, status=SyncRun.Status.FAILED, error="HTTP 401 for zebra")


@pytest.mark.parametrize("host", ["alice", "bob", None])
def test_the_details_count_a_tenants_failures_without_naming_anything(alices_failure, host):
    response = host_client(host).get("/health/", HTTP_X_HEALTH_TOKEN=TOKEN)

    body = response.json()
    assert body["checks"]["imports"] == {
        "ok": False,
        "detail": "0 upload(s) failed unexpectedly, 1 sync run(s) failed in 24 h",
    }
    text = json.dumps(body)
    assert not [name for name in SECRET_NAMES if name in text]


def test_every_host_gives_the_same_public_answer(alices_failure):
    answers = [host_client(host).get("/health/").json() for host in ("alice", "bob", None)]

    assert answers[0] == answers[1] == answers[2]
    assert set(answers[0]["checks"].values()) <= {"ok", "failed"}


def test_a_workspace_admin_gets_no_details(alices_failure):
    client = signed_in_client("alice")  # is_staff in alice's workspace, not Pulse's staff

    body = client.get("/health/").json()

    assert body["checks"]["imports"] == "failed"
