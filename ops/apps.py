from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Platform operations: bootstrap, /health/, incidents and alerts, the schedules, backups and
    restore drills. A shared app: its records live in the public schema."""

    name = "ops"

    def ready(self) -> None:
        # The product apps announce their problems by signal (they sit below ops); ops alerts.
        from ops import receivers  # noqa: F401
