"""Print a new API key for a tenant (scripts, demos, CI)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tenants.commands import tenant_named
from tenants.models import ApiKey
from tenants.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a tenant and print it (shown once; only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug, e.g. demo.")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. ci.")
        parser.add_argument("--scope", choices=ApiKey.Scope.values, default=ApiKey.Scope.WRITE)
        parser.add_argument("--expires-days", type=int, default=None, help="Expire after this many days.")

    def handle(self, *args, tenant, name, scope, expires_days, **options):
        found = tenant_named(tenant)
        expires_at = timezone.now() + dt.timedelta(days=expires_days) if expires_days else None
        try:
            _key, full_key = api_key_create(
                tenant=found,
                name=name,
                scope=scope,
                created_by="command:create_api_key",
                expires_at=expires_at,
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(full_key)
