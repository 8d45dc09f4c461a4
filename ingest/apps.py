from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "ingest"

    def ready(self) -> None:
        from ingest.selectors import account_upload_events
        from kpis.timeline import timeline_source_register

        timeline_source_register(account_upload_events)
