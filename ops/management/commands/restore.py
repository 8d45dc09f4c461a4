"""`manage.py restore FILE` into an empty database, or `--tenant SLUG --as NEWSLUG` side by side."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from common.commands import destructive_confirmed
from ops.pgtools import PgToolError, database_settings
from ops.restore import RestoreRefused, database_restore, tenant_restore


class Command(BaseCommand):
    help = (
        "Restore a backup: the whole database into an empty one, or one tenant's backup as a new tenant "
        "(--tenant SLUG --as NEWSLUG). Outside development pass --confirm with the database or new tenant name."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The .dump (its .sha256 and .json beside it).")
        parser.add_argument("--tenant", default="", metavar="SLUG", help="The tenant the backup is of.")
        parser.add_argument(
            "--as", dest="new_slug", default="", metavar="NEWSLUG", help="The new tenant's slug."
        )
        parser.add_argument(
            "--confirm", metavar="NAME", help="The database (or NEWSLUG) this restore writes to."
        )

    def handle(self, *args, file: Path, tenant: str, new_slug: str, confirm: str | None, **options):
        if bool(tenant) != bool(new_slug):
            raise CommandError(
                "Give --tenant SLUG and --as NEWSLUG together (a tenant is restored as a new one)."
            )
        destructive_confirmed(name=new_slug or database_settings()["dbname"], confirm=confirm)
        try:
            if tenant:
                restored = tenant_restore(dump=file, slug=tenant, new_slug=new_slug)
                self.stdout.write(f"Restored tenant {tenant} from {file.name} as {restored.schema_name}.")
                return
            manifest = database_restore(dump=file)
        except (RestoreRefused, PgToolError) as error:
            raise CommandError(str(error)) from error
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        tables = manifest["tables"]
        self.stdout.write(f"Restored {file.name}: {len(tables)} tables, {sum(tables.values())} rows.")
