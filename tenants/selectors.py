"""Reads about tenants and their schemas."""

import datetime as dt

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import QuerySet, Sum

from tenants.keys import key_matches, key_split
from tenants.models import ApiKey, Tenant, UsageMonth
from tenants.usage import month_reset_at, month_start


def tenants_active() -> QuerySet[Tenant]:
    """Tenants that periodic work should visit: every active tenant but the public one."""
    return Tenant.objects.exclude(schema_name="public").filter(status=Tenant.Status.ACTIVE)


def tenant_has_data() -> bool:
    """True once any tenant other than the public one exists: bootstrap must not seed then."""
    return Tenant.objects.exclude(schema_name="public").exists()


def schema_pending_migrations(schema_name: str) -> list[str]:
    """Migrations not yet applied in `schema_name` (empty when it is current).

    Only the schema itself is on the search path, so its own django_migrations table
    is read, never the public one.
    """
    connection.set_schema(schema_name, include_public=False)
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
    finally:
        connection.set_schema_to_public()


def api_key_resolve(full_key: str) -> ApiKey | None:
    """The key record a presented key matches (revoked and expired ones included, so the
    caller can say why it is refused), with its tenant and plan in the same query."""
    parts = key_split(full_key)
    if parts is None:
        return None
    prefix, secret = parts
    key = ApiKey.objects.select_related("tenant__plan").filter(prefix=prefix).first()
    if key is None or not key_matches(salt=key.salt, secret_hash=key.secret_hash, secret=secret):
        return None
    return key


def usage_summary(tenant: Tenant, now: dt.datetime | None = None) -> dict:
    """This month's use against the plan's limits, and the totals since sign-up."""
    month = month_start(tenant, now)
    current = UsageMonth.objects.filter(tenant=tenant, month=month).first() or UsageMonth(month=month)
    totals = UsageMonth.objects.filter(tenant=tenant).aggregate(
        requests=Sum("requests"), documents=Sum("documents")
    )
    return {
        "month": month,
        "resets_at": month_reset_at(tenant, now),
        "requests": current.requests,
        "documents": current.documents,
        "last_request_at": current.last_request_at,
        "last_upload_at": current.last_upload_at,
        "total_requests": totals["requests"] or 0,
        "total_documents": totals["documents"] or 0,
    }
