"""Send a test alert to every configured channel now (not through the queue), so an operator
sees at once whether Slack and e-mail work; exits 1 when one fails or none is configured."""

from django.core.management.base import BaseCommand, CommandError

from ops.services import alerts_test_send


class Command(BaseCommand):
    help = "Send a test alert to Slack (SLACK_WEBHOOK) and e-mail (ALERT_EMAIL); exit 1 if one fails."

    def handle(self, *args, **options):
        results = alerts_test_send()
        if not results:
            raise CommandError(
                "No alert channel is configured: set SLACK_WEBHOOK and/or ALERT_EMAIL (with EMAIL_URL)."
            )
        for channel, error in results.items():
            self.stdout.write(
                f"{channel}: "
                + (self.style.ERROR(f"FAILED {error}") if error else self.style.SUCCESS("sent"))
            )
        failed = [channel for channel, error in results.items() if error]
        if failed:
            raise CommandError(f"test alert not delivered to {', '.join(failed)}; see the lines above.")
