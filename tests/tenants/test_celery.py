from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from tenants.models import SchemaHealth
from tenants.tasks import dispatch_health_checks
from tests.celery_worker import celery_worker, wait_for
from tests.worker_tasks import create_marker_user
from users.models import User


def marker_exists(slug: str, username: str) -> bool:
    with schema_context(slug):
        return User.objects.filter(username=username).exists()


def test_a_task_queued_from_tenant_a_writes_into_a_only(committed_tenants, purge_queue):
    alice = committed_tenants("alice")
    committed_tenants("bob")

    with celery_worker():
        with tenant_context(alice):
            result = create_marker_user.delay("queued-by-alice")
            assert connection.schema_name == "alice"  # the caller's schema is unchanged
        assert result.get(timeout=60) == "alice"

    assert marker_exists("alice", "queued-by-alice")
    assert not marker_exists("bob", "queued-by-alice")
    assert not User.objects.filter(username="queued-by-alice").exists()  # public schema


def test_the_hourly_dispatcher_checks_every_tenant_schema(committed_tenants, purge_queue):
    committed_tenants("alice"), committed_tenants("bob")

    with celery_worker():
        assert dispatch_health_checks.delay().get(timeout=60) == 2
        wait_for(lambda: SchemaHealth.objects.count() == 2)

    for health in SchemaHealth.objects.all():
        assert health.ok and health.reachable and health.pending_migrations == []
