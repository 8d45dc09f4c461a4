"""Ingest's problems (sync failed or empty, uploads stalled) become incidents, keyed by tenant
schema so that one workspace's incident never resolves another's."""

from django.db import connection
from django.dispatch import receiver

from ingest.alerts import problem_cleared, problem_raised
from ops.models import Incident
from ops.services import alert_raise, alert_resolve


@receiver(problem_raised)
def incident_open(sender, *, kind: str, subject: str, message: str, **kwargs) -> None:
    title = f"{Incident.Kind(kind).label} in workspace {connection.schema_name}"
    alert_raise(key=_key(kind, subject), kind=kind, title=title, message=message)


@receiver(problem_cleared)
def incident_close(sender, *, kind: str, subject: str, **kwargs) -> None:
    alert_resolve(key=_key(kind, subject))


def _key(kind: str, subject: str) -> str:
    return f"{kind}:{connection.schema_name}:{subject}"
