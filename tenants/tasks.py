"""Periodic per-tenant work. Beat fires a dispatcher; it queues one task per tenant, which
tenant-schemas-celery runs inside that tenant's schema."""

import logging

from celery import shared_task
from django.db import connection
from django_tenants.utils import tenant_context

from tenants.selectors import tenants_active
from tenants.services import schema_health_record

logger = logging.getLogger(__name__)


def fan_out(task, *args) -> int:
    """Queue `task(*args)` once per active tenant, each in its own schema. Returns the count."""
    count = 0
    for tenant in tenants_active().only("pk", "schema_name"):
        with tenant_context(tenant):
            task.delay(*args)
        count += 1
    return count


@shared_task(time_limit=60, soft_time_limit=50)
def dispatch_health_checks() -> int:
    return fan_out(tenant_health_check)


@shared_task(time_limit=60, soft_time_limit=50)
def tenant_health_check() -> bool:
    """Is this tenant's schema reachable and at the latest migration? Result stored."""
    return schema_health_record(schema_name=connection.schema_name).ok
