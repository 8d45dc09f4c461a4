from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    name = "playbooks"

    def ready(self) -> None:
        from kpis.timeline import timeline_source_register
        from playbooks import receivers  # noqa: F401  (connects the ingest hook)
        from playbooks.selectors import account_playbook_events

        timeline_source_register(account_playbook_events)
