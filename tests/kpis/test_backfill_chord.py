"""The health backfill in real worker processes: a chord of account chunks gives exactly the
snapshots the inline backfill gives, a failed chunk leaves the previous version current, and a
tenant's backfill writes nothing into another tenant's schema."""

import pytest
from django.db import connection
from django_celery_results.models import TaskResult
from django_tenants.utils import schema_context

from kpis.models import HealthModel, HealthSnapshot
from kpis.selectors import health_model_current
from kpis.tasks import health_backfill
from tests.celery_worker import celery_worker, wait_for
from tests.kpis.factories import portfolio_build

SNAPSHOT_FIELDS = ("account_id", "period", "score", "band", "category_scores", "coverage", "explanation")
CHUNK = "kpis.tasks.health_chunk_refresh"
SWITCH = "kpis.tasks.health_backfill_switch"


def version_backfilling(**changes) -> HealthModel:
    """A new version as health_model_update makes it, without queueing its backfill (the test
    queues it, with its own chunk size)."""
    current = health_model_current()
    fields = {
        name: getattr(current, name)
        for name in ("category_weights", "critical_below", "missing_data_rule", "override_rules")
    }
    return HealthModel.objects.create(
        version=HealthModel.objects.latest("version").version + 1,
        backfilling=True,
        **{"healthy_min": current.healthy_min, **fields, **changes},
    )


def snapshots(version: int) -> list[tuple]:
    return sorted(HealthSnapshot.objects.filter(model_version=version).values_list(*SNAPSHOT_FIELDS))


def task_states(name: str) -> list[str]:
    return list(TaskResult.objects.filter(task_name=name).values_list("status", flat=True))


@pytest.fixture
def two_portfolios(committed_tenants, purge_queue):
    TaskResult.objects.all().delete()
    tenants = {slug: committed_tenants(slug) for slug in ("alice", "bob")}
    for slug, tenant in tenants.items():
        with schema_context(slug):
            portfolio_build(tenant)
    connection.set_schema_to_public()
    return tenants


def test_a_chunked_backfill_in_two_worker_processes_equals_the_inline_one_and_stays_in_its_tenant(
    two_portfolios,
):
    with schema_context("bob"):
        bob_before = sorted(HealthSnapshot.objects.values_list("pk", "model_version", "computed_at", "score"))
    with schema_context("alice"):
        chunked, inline = version_backfilling(healthy_min=80.0), version_backfilling(healthy_min=80.0)

    with celery_worker(pool="prefork", concurrency=2), schema_context("alice"):
        health_backfill.delay(chunked.version, chunk_size=1)  # three accounts: three chunks
        wait_for(lambda: health_model_current().version == chunked.version, timeout=120)
    connection.set_schema_to_public()
    assert task_states(CHUNK) == ["SUCCESS"] * 3 and task_states(SWITCH) == ["SUCCESS"]

    with schema_context("alice"):
        health_backfill(inline.version)  # inline: what a test or a one-chunk tenant runs
        assert snapshots(chunked.version) == snapshots(inline.version)
        assert len(snapshots(chunked.version)) == HealthSnapshot.objects.filter(model_version=1).count()
    with schema_context("bob"):
        assert sorted(HealthSnapshot.objects.values_list("pk", "model_version", "computed_at", "score")) == (
            bob_before
        )
        assert health_model_current().version == 1 and HealthModel.objects.count() == 1


FAIL_ONE_ACCOUNT = """
    CREATE FUNCTION refuse_snapshot() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'disk full (test)'; END $$;
    CREATE TRIGGER refuse_snapshot BEFORE INSERT ON kpis_healthsnapshot
    FOR EACH ROW WHEN (NEW.account_id = %(account_id)s AND NEW.model_version = %(version)s)
    EXECUTE FUNCTION refuse_snapshot();
"""


def test_a_failed_chunk_leaves_the_previous_version_current_and_a_rerun_switches(two_portfolios):
    with schema_context("alice"):
        pending = version_backfilling(healthy_min=80.0)
        failing = HealthSnapshot.objects.order_by("account_id").values_list("account_id", flat=True).last()
        with connection.cursor() as cursor:
            cursor.execute(FAIL_ONE_ACCOUNT % {"account_id": int(failing), "version": pending.version})

    with celery_worker():
        with schema_context("alice"):
            health_backfill.delay(pending.version, chunk_size=1)
        connection.set_schema_to_public()
        wait_for(lambda: sorted(task_states(CHUNK)) == ["FAILURE", "SUCCESS", "SUCCESS"], timeout=120)
        assert "SUCCESS" not in task_states(SWITCH)

        with schema_context("alice"):
            assert health_model_current().version == 1  # readers never saw the half-written version
            assert HealthModel.objects.get(version=pending.version).backfilling
            assert not HealthSnapshot.objects.filter(
                account_id=failing, model_version=pending.version
            ).exists()
            with connection.cursor() as cursor:
                cursor.execute("DROP TRIGGER refuse_snapshot ON kpis_healthsnapshot")
            health_backfill.delay(pending.version, chunk_size=1)  # chunks are idempotent: redo it all
            wait_for(lambda: health_model_current().version == pending.version, timeout=120)
            assert len(snapshots(pending.version)) == HealthSnapshot.objects.filter(model_version=1).count()
