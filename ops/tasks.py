"""Platform tasks: the health check's ping and hourly run, alert delivery and reminders, and the
backup side's scheduled entry points. All run in the public schema (beat queues them there)."""

import importlib
import logging

from celery import shared_task

from ops.health import health_checks
from ops.models import Incident
from ops.services import (
    alert_raise,
    alert_resolve,
    alerts_remind,
    deliveries_requeue,
    delivery_give_up,
    delivery_send,
)

logger = logging.getLogger(__name__)

# Seconds before each retry of an alert that did not get through: about a day in all.
DELIVERY_RETRY_DELAYS = (5, 30, 120, 600, 1800, 3600, 3600 * 4, 3600 * 8, 3600 * 8)


@shared_task(time_limit=10, soft_time_limit=8)
def health_ping(token: str) -> str:
    """The worker check's round trip: answered by whichever worker serves the default queue."""
    return token


# Failed syncs and uploads raise their own alerts (one per source); the imports check's count of
# them would only say the same again, for a day.
ALERTED_ELSEWHERE = {"imports"}


@shared_task(time_limit=5 * 60, soft_time_limit=4 * 60)
def health_check_run() -> bool:
    """Hourly: run every check; a failing one raises its incident, a passing one resolves it."""
    checks = health_checks()
    for check in checks:
        key = f"health:{check.name}"
        if check.name in ALERTED_ELSEWHERE:
            continue
        if check.ok:
            alert_resolve(key=key)
        else:
            alert_raise(
                key=key,
                kind=Incident.Kind.HEALTH_FAILING,
                title=f"Health check “{check.name}” failing",
                message=f"{check.name}: {check.detail}",
            )
    return all(check.ok for check in checks)


@shared_task(time_limit=60, soft_time_limit=50)
def alerts_remind_due() -> int:
    """Every 15 minutes: reminders for incidents still open, and messages the broker lost."""
    deliveries_requeue()
    return alerts_remind()


@shared_task(bind=True, time_limit=60, soft_time_limit=50, max_retries=len(DELIVERY_RETRY_DELAYS))
def alert_deliver(self, delivery_id: int) -> str:
    error = delivery_send(delivery_id=delivery_id)
    if not error:
        return "sent" if error == "" else "nothing to send"
    if self.request.retries >= self.max_retries:
        delivery_give_up(delivery_id=delivery_id)
        return "failed"
    raise self.retry(countdown=DELIVERY_RETRY_DELAYS[self.request.retries])


# --- the backup side's entry points (ops/backups.py, built on another branch) ------------------


@shared_task(time_limit=3 * 3600, soft_time_limit=3 * 3600 - 60)
def backup_nightly() -> object:
    return _backup_side_call("backup_nightly", Incident.Kind.BACKUP_FAILED, "Nightly backup")


@shared_task(time_limit=3600, soft_time_limit=3600 - 60)
def backups_cleanup() -> object:
    return _backup_side_call("backups_cleanup", Incident.Kind.BACKUP_FAILED, "Backup cleanup")


@shared_task(time_limit=3 * 3600, soft_time_limit=3 * 3600 - 60)
def restore_drill() -> object:
    return _backup_side_call("restore_drill", Incident.Kind.DRILL_FAILED, "Restore drill")


def _backup_side_call(function: str, kind: str, what: str) -> object:
    """Call ops.backups.<function>(); when that module or function is missing, raise an alert
    and fail the task: a schedule that silently does nothing is the worst outcome."""
    try:
        run = getattr(importlib.import_module("ops.backups"), function)
    except (ImportError, AttributeError) as error:
        alert_raise(
            key=f"scheduled:{function}",
            kind=kind,
            title=f"{what} cannot run",
            message=f"{what} is scheduled but ops.backups.{function} is not available ({error}). "
            "Deploy the backup module or disable the schedule in the back office.",
        )
        raise
    return run()
