"""`manage.py backup [--tenant SLUG]`: what the nightly beat job runs, by hand."""

from django.core.management.base import BaseCommand, CommandError

from ops.backups import BackupFailed, backup_create, backup_files
from tenants.commands import tenant_named


class Command(BaseCommand):
    help = "Dump the whole database (or one tenant) into BACKUP_DIR with a .sha256 and a .json manifest."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", default="", metavar="SLUG", help="Back up only this tenant.")

    def handle(self, *args, tenant: str, **options):
        if tenant:
            tenant_named(tenant)  # an unknown slug is a typo to point out, not a failed backup
        try:
            backup = backup_create(tenant_slug=tenant)
        except BackupFailed as error:
            raise CommandError(f"Backup failed: {error}") from error
        self.stdout.write(
            f"{backup_files(backup).dump}: {backup.size_bytes} bytes, {backup.tables} tables, "
            f"{backup.rows} rows, {backup.duration_seconds:.1f} s"
        )
        if backup.offsite == backup.Offsite.FAILED:
            raise CommandError(
                f"The backup is complete here but its off-site copy failed: {backup.offsite_error}"
            )
        if backup.offsite == backup.Offsite.UPLOADED:
            self.stdout.write("Off-site copy uploaded and verified.")
