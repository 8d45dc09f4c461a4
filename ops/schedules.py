"""Beat's schedule as django-celery-beat rows, created by `bootstrap` when missing and never
changed afterwards: an operator who moves the backup to 01:30 or disables a job in the back
office keeps that through every redeploy. Times are in OPS_TIMEZONE; the sales-sync dispatcher
runs hourly and each source runs at its own local hour."""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    minute: str = "0"
    hour: str = "*"
    day_of_week: str = "*"
    description: str = ""


SCHEDULES = [
    Schedule(
        "sales-syncs",
        "ingest.tasks.dispatch_sales_syncs",
        description="Hourly; each source at its local hour (02:00 by default).",
    ),
    Schedule(
        "platform-health-check",
        "ops.tasks.health_check_run",
        minute="5",
        description="Every /health/ check; alerts when one fails.",
    ),
    # The name beat gave this entry before the rows were ours, so existing deployments keep theirs.
    Schedule(
        "hourly-health-check",
        "tenants.tasks.dispatch_health_checks",
        minute="5",
        description="Each tenant schema reachable and migrated (recorded per tenant).",
    ),
    Schedule("backup-nightly", "ops.tasks.backup_nightly", hour="3", description="Whole-database backup."),
    Schedule(
        "backups-cleanup",
        "ops.tasks.backups_cleanup",
        hour="4",
        day_of_week="0",
        description="Keep BACKUP_RETENTION_DAYS of backups.",
    ),
    Schedule(
        "restore-drill",
        "ops.tasks.restore_drill",
        hour="5",
        day_of_week="0",
        description="Restore the newest backup into a scratch database and compare.",
    ),
    Schedule("playbook-triggers", "playbooks.tasks.dispatch_trigger_evaluation", minute="*/15"),
    # Not a dispatcher: it visits the opted-in schemas itself (kpis.tasks explains why).
    Schedule(
        "peer-benchmarks",
        "kpis.tasks.peer_benchmarks_publish",
        minute="30",
        hour="3",
        description="Publish peer benchmark cells from the opted-in tenants' aggregates.",
    ),
    Schedule(
        "notifications-daily",
        "playbooks.tasks.dispatch_notifications_daily",
        hour="7",
        description="Each user's digest and due-today reminders, as they chose.",
    ),
    Schedule("resume-stalled-uploads", "ingest.tasks.dispatch_resume_stalled_uploads", minute="*/10"),
    Schedule(
        "alert-reminders",
        "ops.tasks.alerts_remind_due",
        minute="*/15",
        description="Reminders after ALERT_REPEAT_HOURS.",
    ),
]


def schedules_ensure() -> list[str]:
    """Create the schedule rows that do not exist yet (by name); returns the names created."""
    created = []
    with transaction.atomic():
        for schedule in SCHEDULES:
            if PeriodicTask.objects.filter(name=schedule.name).exists():
                continue
            crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=schedule.minute,
                hour=schedule.hour,
                day_of_week=schedule.day_of_week,
                day_of_month="*",
                month_of_year="*",
                timezone=settings.OPS_TIMEZONE,
            )
            PeriodicTask.objects.create(
                name=schedule.name, task=schedule.task, crontab=crontab, description=schedule.description
            )
            created.append(schedule.name)
    return created
