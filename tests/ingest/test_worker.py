"""The pipeline with a real Celery worker and broker: end to end, and a worker killed
mid-load."""

import contextlib
import os
import signal
import subprocess

import psycopg
import pytest
from django.db import connection
from django_tenants.utils import schema_context

from ingest.models import SalesRecord, Upload
from ingest.services import upload_receive
from ingest.tasks import process_upload
from kpis.models import Account
from tenants.models import Plan
from tenants.services import tenant_change_plan
from tests.api.helpers import api, new_key
from tests.celery_worker import celery_worker, wait_for
from tests.celery_worker import test_database_url as database_url
from tests.ingest.conftest import KPI_HEADER, SALES_HEADER, named

ROWS = 100_000


@pytest.fixture
def purge_queue():
    from config.celery import app

    app.control.purge()


def upload_status(client, upload_id) -> dict:
    return client.get(f"/api/v1/uploads/{upload_id}/").json()


def test_an_api_upload_is_loaded_by_the_worker(committed_tenants, purge_queue):
    tenant = committed_tenants("alice")
    client = api(new_key(tenant))
    with celery_worker():
        response = client.post("/api/v1/uploads/", {"file": named(KPI_HEADER + "A1,nps,2026-10,30\n", "k.csv"),
                                                     "kind": "kpis"})  # fmt: skip
        upload_id = response.json()["id"]
        final = wait_for(
            lambda: (s := upload_status(client, upload_id))["status"] == "completed" and s, timeout=60
        )
    assert (final["inserted"], final["rejected"]) == (1, 0)


def sales_file(path, rows: int) -> None:
    with open(path, "w") as handle:
        handle.write(SALES_HEADER)
        for index in range(rows):
            day = 1 + index % 28
            handle.write(
                f"2026-10-{day:02d},user{index},Widget {index % 50},2,10.00,20.00,EMEA,ACC-{index % 500}\n"
            )


def child_pids(parent: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


@contextlib.contextmanager
def sales_table_locked():
    """Another session holds the sales table so no row can be written to it: a load that gets
    there waits, mid-transaction, for as long as the test wants."""
    with psycopg.connect(database_url(), autocommit=False) as other:
        other.execute("LOCK TABLE alice.ingest_salesrecord IN EXCLUSIVE MODE")
        yield other


def waiting_for_the_sales_table() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE %s",
            ["%ingest_salesrecord r%"],
        )
        return cursor.fetchone()[0] > 0


def test_a_worker_killed_mid_load_leaves_nothing_half_applied_and_the_load_completes(
    committed_tenants, purge_queue, tmp_path
):
    tenant = committed_tenants("alice")
    tenant_change_plan(tenant=tenant, plan=Plan.objects.get(name="enterprise"))  # the file has 500 accounts
    sales_file(tmp_path / "sales.csv", ROWS)
    with schema_context("alice"), open(tmp_path / "sales.csv", "rb") as handle:
        upload = upload_receive(
            tenant=tenant, fileobj=handle, original_name="sales.csv", kind="sales", acting_role="admin"
        )

    with celery_worker(pool="prefork") as worker:
        with sales_table_locked():
            with schema_context("alice"):
                process_upload.delay(upload.pk)
                wait_for(waiting_for_the_sales_table, timeout=120)  # read, checked and staged; merging
                assert SalesRecord.objects.count() == 0 and Account.objects.count() == 0  # nothing visible
            for pid in child_pids(worker.pid):
                os.kill(pid, signal.SIGKILL)  # the process doing the load dies without a goodbye
        # Its server session only notices once the lock is released; until then the redelivered
        # task finds the upload claimed and retries.
        with schema_context("alice"):
            wait_for(lambda: Upload.objects.get(pk=upload.pk).status == Upload.Status.COMPLETED, timeout=240)

    with schema_context("alice"):
        final = Upload.objects.get(pk=upload.pk)
        assert final.attempts == 2 and final.inserted == ROWS and final.rejected == 0
        assert SalesRecord.objects.count() == ROWS
