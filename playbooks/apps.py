from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    name = "playbooks"

    def ready(self) -> None:
        from playbooks import receivers  # noqa: F401  (connects the ingest hook)
