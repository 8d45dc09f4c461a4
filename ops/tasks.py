"""Platform tasks: the health check's ping and hourly run, alert delivery and reminders, and the
backup side's scheduled entry points. All run in the public schema (beat queues them there)."""

import logging

from celery import shared_task

from ops.backups import BackupFailed, backup_create
from ops.backups import backups_cleanup as backups_cleanup_run
from ops.health import health_checks
from ops.models import Incident
from ops.restore import restore_drill_run
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


# --- backups, their cleanup and the restore drill (ops/backups.py, ops/restore.py) -------------
# Each failure opens an incident that the next success resolves; the task then fails too, so
# the worker's log and the result backend show it.


@shared_task(time_limit=3 * 3600, soft_time_limit=3 * 3600 - 60)
def backup_nightly() -> str:
    try:
        backup = backup_create()
    except BackupFailed as failure:
        alert_raise(
            key="backup",
            kind=Incident.Kind.BACKUP_FAILED,
            title="Nightly backup failed",
            message=str(failure),
        )
        raise
    if backup.offsite == backup.Offsite.FAILED:
        message = f"{backup.file_name} is complete here but its off-site copy failed: {backup.offsite_error}"
        alert_raise(
            key="backup:offsite",
            kind=Incident.Kind.BACKUP_FAILED,
            title="Off-site copy failed",
            message=message,
        )
    else:
        alert_resolve(key="backup:offsite")
    alert_resolve(key="backup")
    return backup.file_name


@shared_task(time_limit=3600, soft_time_limit=3600 - 60)
def backups_cleanup() -> dict:
    result = backups_cleanup_run()
    if result.failed:
        message = "; ".join(f"{name}: {why}" for name, why in result.failed.items())
        alert_raise(
            key="backup:cleanup",
            kind=Incident.Kind.BACKUP_FAILED,
            title="Backup cleanup failed",
            message=message,
        )
    else:
        alert_resolve(key="backup:cleanup")
    return {"deleted": len(result.deleted), "kept_newest": result.kept_newest, "failed": len(result.failed)}


@shared_task(time_limit=3 * 3600, soft_time_limit=3 * 3600 - 60)
def restore_drill() -> str:
    drill = restore_drill_run()
    if not drill.identical:
        message = drill.error or "; ".join(
            f"{d['table']}: expected {d['expected']}, found {d['found']}" for d in drill.differences[:20]
        )
        alert_raise(
            key="restore_drill",
            kind=Incident.Kind.DRILL_FAILED,
            title="Restore drill failed",
            message=message,
        )
        raise RuntimeError(f"Restore drill failed: {message}")
    alert_resolve(key="restore_drill")
    return f"restore drill: {drill.tables} tables, {drill.rows} rows, identical"
