from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Platform operations: bootstrap, /health/, incidents and their alerts, the schedules."""

    name = "ops"

    def ready(self) -> None:
        # The product apps announce their problems by signal (they sit below ops); ops alerts.
        from ops import receivers  # noqa: F401
