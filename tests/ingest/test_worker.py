"""The pipeline with a real Celery worker and broker: end to end, a worker killed mid-load,
a process killed after the load committed but before its follow-up was done, and long imports
that must not hold up other tenants' work."""

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys

import psycopg
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from ingest.models import SalesRecord, Upload, UploadFollowUp
from ingest.services import UploadRequest, upload_receive
from ingest.tasks import STALLED_AFTER, process_upload, resume_stalled_uploads
from kpis.models import Account, HealthSnapshot, Insight
from playbooks.models import TriggerFiring
from playbooks.tasks import evaluate_triggers
from tenants.models import Plan
from tenants.services import tenant_change_plan
from tests.api.helpers import api, new_key
from tests.celery_worker import REPO, celery_worker, process_environment, wait_for
from tests.celery_worker import test_database_url as database_url
from tests.ingest.conftest import KPI_HEADER, SALES_HEADER, named

ROWS = 100_000
TOUCHED = 97  # accounts, as in the report


def upload_status(client, upload_id) -> dict:
    return client.get(f"/api/v1/uploads/{upload_id}/").json()


def test_an_api_upload_is_loaded_by_the_worker(committed_tenants, purge_queue):
    tenant = committed_tenants("alice")
    client = api(new_key(tenant))
    with celery_worker():
        response = client.post(
            "/api/v1/uploads/",
            {
                "file": named(KPI_HEADER + "A1,nps,2026-10,30\n", "k.csv"),
                "kind": "kpis",
                "create_missing_accounts": "true",
            },
        )
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
def table_locked(table: str = "ingest_salesrecord"):
    """Another session holds one of alice's tables so no row can be written to it: whatever
    gets there waits, mid-transaction, for as long as the test wants."""
    with psycopg.connect(database_url(), autocommit=False) as other:
        other.execute(f"LOCK TABLE alice.{table} IN EXCLUSIVE MODE")
        yield other


def waiting_on_a_lock(query: str) -> bool:
    """Is a session of this test database waiting for a lock while running a statement like
    `query`? (pg_stat_activity lists the whole server's, other test runs' included.)"""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE %s",
            [query],
        )
        return cursor.fetchone()[0] > 0


def waiting_for_the_sales_table() -> bool:
    return waiting_on_a_lock("%ingest_salesrecord r%")  # the merge statement


def writing_health_snapshots() -> bool:
    """The follow-up has begun: health_refresh replaces the touched accounts' snapshots."""
    return waiting_on_a_lock("DELETE FROM kpis_healthsnapshot%")


def test_a_worker_killed_mid_load_leaves_nothing_half_applied_and_the_load_completes(
    committed_tenants, purge_queue, tmp_path
):
    tenant = committed_tenants("alice")
    tenant_change_plan(tenant=tenant, plan=Plan.objects.get(name="enterprise"))  # the file has 500 accounts
    sales_file(tmp_path / "sales.csv", ROWS)
    with schema_context("alice"), open(tmp_path / "sales.csv", "rb") as handle:
        upload = upload_receive(
            fileobj=handle,
            request=UploadRequest(
                tenant=tenant, original_name="sales.csv", kind="sales", acting_role="admin"
            ),
        )

    with celery_worker(pool="prefork") as worker:
        with table_locked():
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


# --- the follow-up of a load survives the process that loaded it ---------------------------------


def kpi_file(tenant, path):
    """nps below 0 in every account: the VoC Sprint playbook's default trigger suggests it."""
    tenant_change_plan(tenant=tenant, plan=Plan.objects.get(name="enterprise"))  # 97 accounts
    path.write_text(KPI_HEADER + "".join(f"ACC-{index},nps,2026-10,-20\n" for index in range(TOUCHED)))
    return path


def assert_committed_with_follow_up_owed(upload: Upload) -> None:
    with schema_context("alice"):
        upload.refresh_from_db()
        assert upload.status == Upload.Status.COMPLETED and upload.inserted == TOUCHED
        assert len(UploadFollowUp.objects.get(upload=upload).account_ids) == TOUCHED
        assert not HealthSnapshot.objects.exists()


def follow_up_done(upload: Upload) -> bool:
    with schema_context("alice"):
        return not UploadFollowUp.objects.filter(upload=upload).exists()


def after_load_state() -> dict:
    """What the follow-up writes, per touched account."""
    with schema_context("alice"):
        return {
            "accounts": set(Account.objects.values_list("pk", flat=True)),
            "with_snapshots": set(HealthSnapshot.objects.values_list("account_id", flat=True)),
            "snapshots": sorted(HealthSnapshot.objects.values_list("pk", "computed_at")),
            "projections": set(
                Account.objects.filter(projections__isnull=False).values_list("pk", flat=True)
            ),
            "suggested": set(
                Insight.objects.filter(rule=Insight.Rule.PLAYBOOK_SUGGESTED).values_list(
                    "account_id", flat=True
                )
            ),
            "firings": TriggerFiring.objects.count(),
        }


def assert_followed_up(state: dict) -> None:
    assert len(state["accounts"]) == TOUCHED
    assert state["with_snapshots"] == state["accounts"] == state["projections"]
    assert state["suggested"] == state["accounts"] and state["firings"] == TOUCHED  # triggers evaluated


def test_a_worker_killed_after_the_load_commits_leaves_its_follow_up_to_the_redelivery(
    committed_tenants, purge_queue, tmp_path
):
    tenant = committed_tenants("alice")
    with schema_context("alice"), open(kpi_file(tenant, tmp_path / "kpis.csv"), "rb") as handle:
        upload = upload_receive(
            fileobj=handle,
            request=UploadRequest(
                tenant=tenant,
                original_name="kpis.csv",
                kind="kpis",
                acting_role="admin",
                create_missing_accounts=True,
            ),
        )

    with celery_worker(pool="prefork") as worker:
        with table_locked("kpis_healthsnapshot"):
            with schema_context("alice"):
                process_upload.delay(upload.pk)
            wait_for(writing_health_snapshots, timeout=120)
            assert_committed_with_follow_up_owed(upload)
            for pid in child_pids(worker.pid):
                os.kill(pid, signal.SIGKILL)
        # The redelivered task finds the data loaded and the follow-up owed, and does it once the
        # dead process's server session has let go of the upload.
        wait_for(lambda: follow_up_done(upload), timeout=120)

    state = after_load_state()
    assert_followed_up(state)
    with schema_context("alice"):
        assert Upload.objects.get(pk=upload.pk).attempts == 1  # loaded once
        assert resume_stalled_uploads() == 0
    assert after_load_state() == state


def test_the_sweep_finishes_the_follow_up_of_a_command_killed_after_its_load_committed(
    committed_tenants, purge_queue, tmp_path
):
    """A command or a web request (the admin's import) is not redelivered by anyone."""
    path = kpi_file(committed_tenants("alice"), tmp_path / "kpis.csv")
    command = [
        sys.executable,
        "manage.py",
        "import_data",
        "--tenant",
        "alice",
        "--kind",
        "kpis",
        str(path),
        "--create-missing-accounts",
    ]
    with table_locked("kpis_healthsnapshot"):
        loader = subprocess.Popen(command, cwd=REPO, env=process_environment())
        wait_for(writing_health_snapshots, timeout=120)
        with schema_context("alice"):
            upload = Upload.objects.get()
        assert_committed_with_follow_up_owed(upload)
        loader.kill()
        loader.wait()
    with schema_context("alice"):  # as if the sweep's grace period had passed
        UploadFollowUp.objects.update(created_at=timezone.now() - STALLED_AFTER - dt.timedelta(minutes=1))

    with celery_worker():
        with schema_context("alice"):
            assert resume_stalled_uploads() == 1
        wait_for(lambda: follow_up_done(upload), timeout=120)
        state = after_load_state()
        assert_followed_up(state)
        with schema_context("alice"):
            assert resume_stalled_uploads() == 0
            duplicate = process_upload.delay(upload.pk)  # a stray message changes nothing either
        assert duplicate.get(timeout=60) == Upload.Status.COMPLETED
    assert after_load_state() == state


# --- no tenant can starve the others ----------------------------------------------------------------


def received_sales(tenant, path, rows: int = 1_000) -> Upload:
    tenant_change_plan(tenant=tenant, plan=Plan.objects.get(name="enterprise"))  # the file has 500 accounts
    sales_file(path, rows)
    with schema_context(tenant.schema_name), open(path, "rb") as handle:
        return upload_receive(
            fileobj=handle,
            request=UploadRequest(tenant=tenant, original_name=path.name, kind="sales", acting_role="admin"),
        )


def received_kpis(tenant) -> Upload:
    content = named(KPI_HEADER + "B1,nps,2026-10,30\n", "k.csv")
    with schema_context(tenant.schema_name):
        return upload_receive(
            fileobj=content,
            request=UploadRequest(
                tenant=tenant,
                original_name="k.csv",
                kind="kpis",
                acting_role="admin",
                create_missing_accounts=True,
            ),
        )


def queue(upload: Upload, schema: str = "alice") -> None:
    with schema_context(schema):
        process_upload.delay(upload.pk)


def status(upload: Upload, schema: str = "alice") -> tuple[str, int]:
    with schema_context(schema):
        final = Upload.objects.get(pk=upload.pk)
        return final.status, final.attempts


def completed(*uploads: Upload, schema: str = "alice") -> bool:
    return all(status(upload, schema)[0] == Upload.Status.COMPLETED for upload in uploads)


def test_a_long_upload_does_not_hold_up_another_tenants_short_tasks(committed_tenants, purge_queue, tmp_path):
    upload = received_sales(committed_tenants("alice"), tmp_path / "sales.csv")
    committed_tenants("bob")

    with (
        celery_worker(queues=[settings.INGEST_QUEUE]),
        celery_worker(queues=[settings.CELERY_TASK_DEFAULT_QUEUE]),
    ):
        with table_locked():
            queue(upload)
            wait_for(waiting_for_the_sales_table, timeout=120)  # alice's load holds the ingest worker
            with schema_context("bob"):
                evaluated = evaluate_triggers.delay()
            assert evaluated.get(timeout=60) == 0  # bob's trigger evaluation ran meanwhile
            assert status(upload) == (Upload.Status.LOADING, 1)
        wait_for(lambda: completed(upload), timeout=120)


def test_a_tenant_at_its_ingest_cap_waits_while_another_tenants_upload_loads(
    committed_tenants, purge_queue, tmp_path
):
    alice = committed_tenants("alice")
    first, second = (received_sales(alice, tmp_path / name) for name in ("s1.csv", "s2.csv"))
    bobs = received_kpis(committed_tenants("bob"))

    with celery_worker(pool="prefork", queues=[settings.INGEST_QUEUE], concurrency=2):
        with table_locked():
            queue(first)
            wait_for(waiting_for_the_sales_table, timeout=120)  # alice holds her one slot
            queue(second)
            queue(bobs, "bob")
            wait_for(lambda: completed(bobs, schema="bob"), timeout=120)
            assert status(second) == (Upload.Status.QUEUED, 0)  # it gave its process back to bob
        wait_for(lambda: completed(first, second), timeout=120)


def test_a_worker_killed_holding_a_tenants_ingest_slot_gives_it_back(
    committed_tenants, purge_queue, tmp_path
):
    alice = committed_tenants("alice")
    first, second = (received_sales(alice, tmp_path / name) for name in ("s1.csv", "s2.csv"))

    with celery_worker(pool="prefork", queues=[settings.INGEST_QUEUE]) as worker:
        with table_locked():
            queue(first)
            wait_for(waiting_for_the_sales_table, timeout=120)
            for pid in child_pids(worker.pid):
                os.kill(pid, signal.SIGKILL)
        queue(second)
        # The slot died with the killed process's database session: the redelivered first upload
        # and the second one both get it in turn.
        wait_for(lambda: completed(first, second), timeout=240)

    assert status(first) == (Upload.Status.COMPLETED, 2) and status(second) == (Upload.Status.COMPLETED, 1)
