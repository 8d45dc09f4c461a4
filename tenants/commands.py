"""Helpers shared by management commands that take --tenant."""

import redis
from django.conf import settings
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


def redis_required() -> None:
    """Raise redis.ConnectionError (which manage.py explains) unless Redis answers.

    Commands that load data call it before reading the file: the pipeline keeps a load's progress
    in the cache, and a load that found Redis missing halfway would fail with nothing written and
    only "failed unexpectedly" to show for it.
    """
    with redis.Redis.from_url(settings.CACHES["default"]["LOCATION"], socket_connect_timeout=5) as client:
        client.ping()
