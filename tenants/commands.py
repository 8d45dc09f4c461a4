"""Helpers shared by management commands that take --tenant."""

from django.core.management.base import CommandError

from tenants.models import Tenant


def tenant_named(slug: str) -> Tenant:
    """The tenant with this slug, or a CommandError that lists the known ones."""
    tenants = Tenant.objects.exclude(schema_name="public")
    tenant = tenants.filter(schema_name=slug).first()
    if tenant is None:
        known = ", ".join(tenants.values_list("schema_name", flat=True))
        raise CommandError(f"No tenant “{slug}”. Known tenants: {known or 'none'}.")
    return tenant
