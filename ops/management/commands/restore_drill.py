"""`manage.py restore_drill`: what the weekly beat job runs, by hand."""

from django.core.management.base import BaseCommand, CommandError

from ops.restore import restore_drill_run


class Command(BaseCommand):
    help = "Restore the newest backup into a scratch database and compare every table's row count."

    def handle(self, *args, **options):
        drill = restore_drill_run()
        if drill.error:
            raise CommandError(f"restore drill failed: {drill.error}")
        for difference in drill.differences:
            self.stdout.write(
                f"{difference['table']}: {difference['expected']} rows in the manifest, {difference['found']} restored"
            )
        verdict = "identical" if drill.identical else f"{len(drill.differences)} tables DIFFER"
        self.stdout.write(f"restore drill: {drill.tables} tables, {drill.rows} rows, {verdict}")
        if not drill.identical:
            raise CommandError("restore drill: the restored database differs from the backup's manifest.")
