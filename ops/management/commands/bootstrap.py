"""Idempotent startup: the Procfile's release step and the first thing `make run` does.

Migrates the public schema, the template schema and every tenant that is behind (several at
once); syncs the catalogs into the schemas that lack the shipped ones; makes sure the public
tenant exists; creates beat's schedules that are missing; seeds the demo tenant only into a
database that holds no tenant yet. Running it again never changes existing data, nor a
schedule an operator edited.
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_public_schema_name

from ops.demo import DEMO_SLUG, DEMO_USERNAME, STAFF_USERNAME, demo_seed
from ops.schedules import schedules_ensure
from tenants.models import Tenant
from tenants.selectors import schemas_missing_migrations, tenant_has_data
from tenants.services import (
    SchemaMigrationFailed,
    base_schema_ensure,
    public_tenant_ensure,
    schemas_migrate,
    tenant_host,
)


class Command(BaseCommand):
    help = (
        "Migrate every schema that is behind, sync the catalogs into the schemas that lack the shipped "
        "ones, ensure the public tenant, seed the demo tenant if the database is empty."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--processes",
            type=int,
            default=settings.TENANT_MULTIPROCESSING_MAX_PROCESSES,
            help="Tenant schemas migrated at once (default MIGRATION_PROCESSES).",
        )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        self._migrate(processes=options["processes"], verbosity=max(verbosity - 1, 0))
        # By name: the command belongs to the product apps, which this foundation app does not import.
        call_command(
            "catalog_sync", outdated=True, verbosity=verbosity, stdout=self.stdout, stderr=self.stderr
        )
        public_tenant_ensure()
        self.stdout.write("Schemas migrated; public tenant ready.")
        created = schedules_ensure()
        self.stdout.write(
            f"Schedules created: {', '.join(created)}." if created else "Schedules present, kept as they are."
        )
        self._seed_demo()
        self._print_urls()

    def _migrate(self, *, processes: int, verbosity: int) -> None:
        """Only the schemas whose django_migrations lack a migration on disk (read for every schema
        in one query): with nothing to migrate, a deploy costs no migrate run per tenant."""
        public = get_public_schema_name()
        if schemas_missing_migrations([public])[public]:
            call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        base_schema_ensure(verbosity=verbosity)
        tenants = list(Tenant.objects.exclude(schema_name=public).values_list("schema_name", flat=True))
        behind = {
            schema: missing for schema, missing in schemas_missing_migrations(tenants).items() if missing
        }
        self.stdout.write(f"Tenant schemas behind on migrations: {len(behind)} of {len(tenants)}.")
        try:
            schemas_migrate(missing=behind, processes=processes)
        except SchemaMigrationFailed as failure:
            raise CommandError(
                f"{failure}. That migration was rolled back there; schemas migrated before it keep "
                "theirs and the rest were not started. Fix the cause and run bootstrap again: "
                "schemas already current are skipped."
            ) from failure

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
