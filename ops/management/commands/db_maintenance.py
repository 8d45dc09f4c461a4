"""`manage.py db_maintenance`: VACUUM (ANALYZE) every schema, with progress."""

import time

from django.core.management.base import BaseCommand, CommandError

from ops.database import maintenance_schemas, schema_vacuum_analyze


class Command(BaseCommand):
    help = "Run VACUUM (ANALYZE) on every table, schema by schema (or only --schema NAME), printing progress."

    def add_arguments(self, parser):
        parser.add_argument(
            "--schema", default="", metavar="NAME", help="Only this schema (a tenant's slug, public)."
        )

    def handle(self, *args, schema: str, **options):
        schemas = maintenance_schemas()
        if schema and schema not in schemas:
            raise CommandError(f"No schema “{schema}” with tables. Schemas: {', '.join(schemas)}.")
        chosen = [schema] if schema else schemas
        started = time.monotonic()
        for number, name in enumerate(chosen, start=1):
            began = time.monotonic()
            tables = schema_vacuum_analyze(name)
            self.stdout.write(
                f"[{number}/{len(chosen)}] {name}: {tables} tables vacuumed and analyzed in {time.monotonic() - began:.1f} s"
            )
        self.stdout.write(f"db_maintenance: {len(chosen)} schemas in {time.monotonic() - started:.1f} s")
