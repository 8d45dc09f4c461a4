"""Every /health/ check, with details, from the server's shell or a cron job: exits 1 when any fails."""

from django.core.management.base import BaseCommand, CommandError

from ops.health import health_checks


class Command(BaseCommand):
    help = "Run the /health/ checks (database, broker, worker, migrations, backup, imports, disk); exit 1 if any fails."

    def handle(self, *args, **options):
        checks = health_checks()
        for check in checks:
            state = self.style.SUCCESS("ok") if check.ok else self.style.ERROR("FAILED")
            self.stdout.write(f"{check.name}: {state} {check.detail}")
        failing = [check.name for check in checks if not check.ok]
        if failing:
            raise CommandError(f"unhealthy: {', '.join(failing)} failing; see the lines above.")
        self.stdout.write("healthy")
