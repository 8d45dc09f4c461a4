"""The work a load owes after it commits (health, insights, projections, playbook triggers) is
recorded with the data, so a process that dies in between leaves it to be finished, not lost.
The same with a real worker killed by kill -9: tests/ingest/test_worker.py."""

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

import ingest.services
from ingest import tasks
from ingest.models import Upload, UploadFollowUp
from ingest.services import UploadRequest, upload_confirm, upload_process, upload_receive
from kpis.models import Account, HealthSnapshot, Insight
from tests.ingest.conftest import KPI_HEADER, named

# nps below 0 meets the VoC Sprint playbook's default trigger, so evaluation leaves a suggestion.
KPIS = KPI_HEADER + "ACC-1,nps,2026-10,-20\nACC-2,nps,2026-10,-35\nACC-3,csat,2026-10,88\n"


class Killed(BaseException):
    """What the process sees of kill -9 for these tests: it stops right there."""


def die(**_kwargs):
    raise Killed


def receive(tenant, content=KPIS, name="k.csv", **options) -> Upload:
    return upload_receive(
        fileobj=named(content, name),
        request=UploadRequest(
            tenant=tenant,
            original_name=name,
            kind="kpis",
            acting_role="admin",
            **{"create_missing_accounts": True, **options},
        ),
    )


def suggested_accounts() -> set[str]:
    suggestions = Insight.objects.filter(rule=Insight.Rule.PLAYBOOK_SUGGESTED)
    return set(suggestions.values_list("account__external_id", flat=True))


def load_dying_after_commit(tenant, monkeypatch, content=KPIS) -> Upload:
    """Load a file in a process that dies once the load has committed, before any follow-up."""
    upload = receive(tenant, content)
    with monkeypatch.context() as patched:
        patched.setattr(ingest.services, "health_refresh", die)
        with pytest.raises(Killed):
            upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    return upload


def test_a_load_records_what_it_owes_and_the_next_run_finishes_it(alice, monkeypatch):
    with schema_context("alice"):
        upload = load_dying_after_commit(alice, monkeypatch)
        assert upload.status == Upload.Status.COMPLETED and upload.inserted == 3
        owed = UploadFollowUp.objects.get(upload=upload)
        assert sorted(owed.account_ids) == sorted(Account.objects.values_list("pk", flat=True))
        assert not HealthSnapshot.objects.exists() and not suggested_accounts()

        again = upload_process(upload_id=upload.pk)  # the redelivered message, or the sweep's

        assert again.status == Upload.Status.COMPLETED and again.attempts == 1  # not loaded twice
        assert not UploadFollowUp.objects.exists()
        assert set(HealthSnapshot.objects.values_list("account__external_id", flat=True)) == {
            "ACC-1",
            "ACC-2",
            "ACC-3",
        }
        assert suggested_accounts() == {"ACC-1", "ACC-2"}  # triggers were evaluated


def test_a_finished_follow_up_is_not_run_again(alice, monkeypatch):
    with schema_context("alice"):
        upload = upload_process(upload_id=receive(alice).pk)
        assert not UploadFollowUp.objects.exists()
        monkeypatch.setattr(ingest.services, "health_refresh", die)  # would fail the test if called

        assert upload_process(upload_id=upload.pk).status == Upload.Status.COMPLETED


def test_a_dry_run_owes_nothing_and_its_confirmation_does_its_follow_up(alice):
    with schema_context("alice"):
        preview = upload_process(upload_id=receive(alice, dry_run=True).pk)

        assert preview.status == Upload.Status.PREVIEWED
        assert not UploadFollowUp.objects.exists() and not HealthSnapshot.objects.exists()

        upload_confirm(upload=preview, acting_role="admin")
        loaded = upload_process(upload_id=preview.pk)

        assert loaded.status == Upload.Status.COMPLETED and not UploadFollowUp.objects.exists()
        assert HealthSnapshot.objects.filter(account__external_id="ACC-1").exists()


def test_a_failed_load_owes_nothing(alice):
    with schema_context("alice"):
        upload = upload_process(upload_id=receive(alice, KPI_HEADER.replace("period,", "")).pk)

        assert upload.status == Upload.Status.FAILED and not UploadFollowUp.objects.exists()


def test_the_sweep_requeues_follow_ups_left_for_longer_than_the_grace_period(alice, monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.process_upload, "delay", queued.append)
    with schema_context("alice"):
        overdue = load_dying_after_commit(alice, monkeypatch)
        recent = load_dying_after_commit(alice, monkeypatch, KPI_HEADER + "ACC-4,nps,2026-10,5\n")
        UploadFollowUp.objects.filter(upload=overdue).update(
            created_at=timezone.now() - tasks.STALLED_AFTER - dt.timedelta(minutes=1)
        )

        assert tasks.resume_stalled_uploads() == 1

    assert queued == [overdue.pk]  # the recent one may still be running in its worker
    assert recent.pk not in queued
