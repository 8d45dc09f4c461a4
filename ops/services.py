"""Incidents: raise, resolve, remind, deliver. The one path every raiser takes (sync, uploads,
the health check, backups and restore drills on the backup side) and the alert task uses."""

import datetime as dt
import functools
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from ops.channels import channel_send, channels_configured
from ops.models import Delivery, Incident

logger = logging.getLogger(__name__)


def alert_raise(*, key: str, kind: str, title: str, message: str) -> Incident:
    """Open an incident for `key` and alert every channel, or, when one is open already, only
    note that it is still happening: people hear of an incident once, then by reminder."""
    if kind not in Incident.Kind.values:
        raise ValueError(f"Unknown alert kind {kind!r}; use one of {', '.join(Incident.Kind.values)}.")
    with transaction.atomic():
        incident = Incident.objects.select_for_update().filter(key=key, resolved_at__isnull=True).first()
        if incident:
            Incident.objects.filter(pk=incident.pk).update(last_seen_at=timezone.now(), message=message)
            return incident
        try:
            with transaction.atomic():
                incident = Incident.objects.create(
                    key=key, kind=kind, title=title[:200], message=message, notified_at=timezone.now()
                )
        except IntegrityError:  # another raiser opened it a moment ago
            return Incident.objects.get(key=key, resolved_at__isnull=True)
        _deliveries_queue(incident, Delivery.Event.OPENED)
    logger.warning("Incident opened (%s): %s", key, title)
    return incident


def alert_resolve(*, key: str) -> Incident | None:
    """Close the open incident for `key`, if any, and tell every channel it is resolved."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().filter(key=key, resolved_at__isnull=True).first()
        if incident is None:
            return None
        incident.resolved_at = timezone.now()
        incident.save(update_fields=["resolved_at"])
        _deliveries_queue(incident, Delivery.Event.RESOLVED)
    logger.info("Incident resolved (%s)", key)
    return incident


def alerts_remind(*, now: dt.datetime | None = None) -> int:
    """Remind every channel of incidents still open ALERT_REPEAT_HOURS after they were last told."""
    now = now or timezone.now()
    due_before = now - dt.timedelta(hours=settings.ALERT_REPEAT_HOURS)
    reminded = 0
    with transaction.atomic():
        due = Incident.objects.select_for_update(skip_locked=True).filter(
            resolved_at__isnull=True, notified_at__lt=due_before
        )
        for incident in due:
            incident.notified_at = now
            incident.reminders += 1
            incident.save(update_fields=["notified_at", "reminders"])
            _deliveries_queue(incident, Delivery.Event.REMINDER)
            reminded += 1
    return reminded


def delivery_send(*, delivery_id: int) -> str | None:
    """Send one queued message: "" when sent, the error when not (kept on the row for the task to
    retry), None when there is nothing to send. The row stays locked while sending, so a message
    queued twice (a redelivered or requeued task) is never sent twice."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("incident")
            .filter(pk=delivery_id, status=Delivery.Status.QUEUED)
            .first()
        )
        if delivery is None:
            return None
        subject, body = _message(delivery.incident, delivery.event)
        delivery.attempts += 1
        try:
            channel_send(channel=delivery.channel, subject=subject, body=body)
        except Exception as error:
            delivery.error = str(error)[:1000]
        else:
            delivery.status, delivery.sent_at, delivery.error = Delivery.Status.SENT, timezone.now(), ""
        delivery.save(update_fields=["attempts", "error", "status", "sent_at"])
    return delivery.error


def delivery_give_up(*, delivery_id: int) -> None:
    """The retries are used up: keep the row as failed (the operations page lists it)."""
    Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.QUEUED).update(
        status=Delivery.Status.FAILED
    )


def alerts_test_send() -> dict[str, str]:
    """Send a test message to every configured channel now; {channel: "" when sent, else the error}."""
    results = {}
    for channel in channels_configured():
        try:
            channel_send(
                channel=channel,
                subject="Test alert",
                body="Pulse can reach this channel; alerts about backups, syncs and health will arrive here.",
            )
            results[channel] = ""
        except Exception as error:
            results[channel] = str(error)
    return results


def _deliveries_queue(incident: Incident, event: str) -> None:
    """One Delivery per channel, each sent by its own task once this transaction commits, so
    the raiser never waits for Slack or SMTP and one channel's failure never repeats another's."""
    for channel in channels_configured():
        delivery = Delivery.objects.create(incident=incident, event=event, channel=channel)
        transaction.on_commit(functools.partial(_delivery_task_queue, delivery.pk))


def _delivery_task_queue(delivery_id: int) -> None:
    from ops.tasks import alert_deliver  # tasks import this module

    try:
        with schema_context(get_public_schema_name()):  # incidents belong to no tenant
            alert_deliver.apply_async((delivery_id,), retry=False)
    except Exception:  # broker down: the raiser goes on; the row stays queued for the sweep
        logger.exception("Could not queue alert delivery %s; it stays queued", delivery_id)


def deliveries_requeue(*, older_than: dt.timedelta = dt.timedelta(minutes=30)) -> int:
    """Queue again the messages still queued long after they were made (the broker was down)."""
    stuck = Delivery.objects.filter(
        status=Delivery.Status.QUEUED, attempts=0, created_at__lt=timezone.now() - older_than
    ).values_list("pk", flat=True)
    for pk in stuck:
        _delivery_task_queue(pk)
    return len(stuck)


def _message(incident: Incident, event: str) -> tuple[str, str]:
    if event == Delivery.Event.RESOLVED:
        return (
            f"Resolved: {incident.title}",
            f"Resolved at {incident.resolved_at:%Y-%m-%d %H:%M} UTC.\n\n{incident.message}",
        )
    prefix = "Reminder, still open" if event == Delivery.Event.REMINDER else incident.get_kind_display()
    since = f"Open since {incident.opened_at:%Y-%m-%d %H:%M} UTC."
    return f"{prefix}: {incident.title}", f"{incident.message}\n\n{since}"
