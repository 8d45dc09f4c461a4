"""Bring the shipped catalogs into the template schema and every tenant: `bootstrap` runs it
after migrating, so a catalog change reaches existing tenants on the next deploy, and new
tenants, cloned from the template, start with it. It lives with playbooks because it syncs
both catalogs and playbooks build on the KPIs."""

import logging

from django.core.management.base import BaseCommand, CommandError

from playbooks.selectors import schemas_catalogs_outdated
from playbooks.services import catalog_sync
from tenants.selectors import tenant_app_schemas

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Add new catalog entries (KPIs, advice, benchmarks, playbooks, triggers) to the template schema "
        "and every tenant, and update those a tenant has not edited; a tenant's edits are kept. "
        "Idempotent: a second run changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--schema",
            action="append",
            dest="schemas",
            metavar="NAME",
            help="Only this schema (the template or a tenant's); give it again for more.",
        )
        parser.add_argument(
            "--outdated",
            action="store_true",
            help="Only the schemas not last synced with the shipped catalogs (what bootstrap runs).",
        )

    def handle(self, *args, schemas=None, outdated=False, verbosity=1, **options):
        failed = []
        chosen = self._schemas(schemas)
        if outdated:
            chosen = schemas_catalogs_outdated(chosen)
            if verbosity:
                self.stdout.write(f"Schemas not synced with the shipped catalogs: {len(chosen)}.")
        for schema_name in chosen:
            try:
                report = catalog_sync(schema_name=schema_name)
            except Exception as error:  # one schema's failure must not keep the others behind
                logger.exception("Catalog sync failed in schema %s", schema_name)
                self.stderr.write(f"{schema_name}: failed, nothing changed there: {error}")
                failed.append(schema_name)
                continue
            if verbosity:
                self.stdout.write(f"{schema_name}: {report.summary()}")
        if failed:
            raise CommandError(
                f"The catalogs could not be synced into {', '.join(failed)}; the other schemas are "
                "synced. Fix the cause shown above and run catalog_sync again."
            )

    def _schemas(self, wanted: list[str] | None) -> list[str]:
        known = tenant_app_schemas()
        unknown = [name for name in wanted or [] if name not in known]
        if unknown:
            raise CommandError(
                f"No template or tenant schema named {', '.join(unknown)}; give one of {', '.join(known)}."
            )
        return wanted or known
