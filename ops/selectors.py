"""Reads for the staff operations page."""

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone
from django_tenants.utils import schema_context

from ingest.selectors import import_failures_recent
from ops.models import Delivery, Incident
from tenants.selectors import tenants_active

RECENT_DAYS = 7


def incidents_open() -> QuerySet[Incident]:
    return Incident.objects.filter(resolved_at__isnull=True).order_by("-opened_at")


def deliveries_failing(*, limit: int = 20) -> QuerySet[Delivery]:
    """Messages that have not got through yet (after at least one try) or never will."""
    stuck = Delivery.objects.exclude(status=Delivery.Status.SENT).exclude(error="")
    return stuck.select_related("incident").order_by("-created_at")[:limit]


def import_failures_by_tenant(*, days: int = RECENT_DAYS) -> list[dict]:
    """Every active tenant's failed uploads and syncs of the last `days`, newest first."""
    since = timezone.now() - dt.timedelta(days=days)
    rows = []
    for tenant in tenants_active().only("schema_name", "name"):
        with schema_context(tenant.schema_name):
            rows += [{**row, "tenant": tenant.name} for row in import_failures_recent(since=since)]
    return sorted(rows, key=lambda row: row["at"], reverse=True)
