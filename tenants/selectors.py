"""Reads about tenants and their schemas."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import QuerySet

from tenants.models import Tenant


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
