"""Check every tenant schema now (what the hourly beat job does) and print the result."""

from django.core.management.base import BaseCommand, CommandError

from tenants.selectors import tenants_active
from tenants.services import schema_health_record


class Command(BaseCommand):
    help = "Check that every tenant schema is reachable and migrated; exit 1 if any is not."

    def handle(self, *args, **options):
        failing = 0
        for tenant in tenants_active():
            health = schema_health_record(schema_name=tenant.schema_name)
            self.stdout.write(f"{tenant.schema_name}: {'ok' if health.ok else 'FAILING'} {health.detail}")
            failing += not health.ok
        if failing:
            raise CommandError(f"{failing} tenant schema(s) failing; see the lines above.")
