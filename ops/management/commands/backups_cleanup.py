"""`manage.py backups_cleanup`: what the Sunday beat job runs, by hand."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from common.commands import destructive_confirmed
from ops.backups import backups_cleanup, backups_expired


class Command(BaseCommand):
    help = (
        "Delete backups older than BACKUP_RETENTION_DAYS (and their off-site copies), never the newest "
        "complete one. Outside development pass --confirm with the name of BACKUP_DIR's folder."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be deleted; delete nothing."
        )
        parser.add_argument(
            "--confirm", metavar="NAME", help="The name of BACKUP_DIR's folder, e.g. backups."
        )

    def handle(self, *args, dry_run: bool, confirm: str | None, **options):
        if dry_run:
            expired, _newest = backups_expired()
            for backup in expired:
                self.stdout.write(f"would delete {backup.file_name}")
            return
        destructive_confirmed(name=Path(settings.BACKUP_DIR).name, confirm=confirm)
        result = backups_cleanup()
        for name in result.deleted:
            self.stdout.write(f"deleted {name}")
        self.stdout.write(
            f"{len(result.deleted)} backups deleted; kept those of the last {settings.BACKUP_RETENTION_DAYS} days"
            + (f" and the newest complete one, {result.kept_newest}." if result.kept_newest else ".")
        )
        if result.failed:
            reasons = "; ".join(f"{name}: {why}" for name, why in result.failed.items())
            raise CommandError(f"{len(result.failed)} backups could not be deleted off site: {reasons}")
