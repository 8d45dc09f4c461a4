"""Idempotent startup: the Procfile's release step and the first thing `make run` does.

Migrates the public schema, the template schema and every tenant; makes sure the public
tenant exists; creates beat's schedules that are missing; seeds the demo tenant only into a
database that holds no tenant yet. Running it again never changes existing data, nor a
schedule an operator edited.
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from ops.demo import DEMO_SLUG, DEMO_USERNAME, STAFF_USERNAME, demo_seed
from ops.schedules import schedules_ensure
from tenants.models import Tenant
from tenants.selectors import tenant_has_data
from tenants.services import base_schema_ensure, public_tenant_ensure, tenant_host


class Command(BaseCommand):
    help = (
        "Migrate every schema, sync the catalogs into them, ensure the public tenant, seed the demo "
        "tenant if the database is empty."
    )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=max(verbosity - 1, 0))
        base_schema_ensure(verbosity=max(verbosity - 1, 0))
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=max(verbosity - 1, 0))
        # By name: the command belongs to the product apps, which this foundation app does not import.
        call_command("catalog_sync", verbosity=verbosity, stdout=self.stdout, stderr=self.stderr)
        public_tenant_ensure()
        self.stdout.write("Schemas migrated; public tenant ready.")
        created = schedules_ensure()
        self.stdout.write(
            f"Schedules created: {', '.join(created)}." if created else "Schedules present, kept as they are."
        )
        self._seed_demo()
        self._print_urls()

    def _seed_demo(self) -> None:
        if not settings.SEED_DEMO_DATA:
            self.stdout.write("SEED_DEMO_DATA is off: no demo tenant.")
            return
        if tenant_has_data():
            self.stdout.write("Tenant data present: demo seeding skipped, nothing changed.")
            return
        demo_seed()
        self.stdout.write(self.style.SUCCESS("Demo tenant created."))

    def _print_urls(self) -> None:
        port = settings.PULSE_PORT
        self.stdout.write(
            f"Pulse public site and registration: http://{settings.PULSE_BASE_DOMAIN}:{port}/register"
        )
        self.stdout.write(f"Staff back office: http://{settings.PULSE_BASE_DOMAIN}:{port}/admin/")
        if Tenant.objects.filter(schema_name=DEMO_SLUG).exists():
            self.stdout.write(f"  (seeded staff login: {STAFF_USERNAME} / {settings.DEMO_ADMIN_PASSWORD})")
            self.stdout.write(
                f"Demo workspace: http://{tenant_host(DEMO_SLUG)}:{port}/  "
                f"(seeded login: {DEMO_USERNAME} / {settings.DEMO_ADMIN_PASSWORD})"
            )
