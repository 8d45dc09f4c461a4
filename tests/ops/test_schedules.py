"""Beat's schedule: rows created once by bootstrap, in OPS_TIMEZONE, visible in the back office;
an operator's edits survive bootstrap (a redeploy) and beat starting again."""

from django.core.management import call_command
from django.test import override_settings
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from config.celery import app
from ops.schedules import SCHEDULES, schedules_ensure
from tests.conftest import host_client
from users.models import User

EXPECTED = {
    # Each schedule by name: its task, then minute, hour and day of week.
    "sales-syncs": ("ingest.tasks.dispatch_sales_syncs", "0", "*", "*"),
    "platform-health-check": ("ops.tasks.health_check_run", "5", "*", "*"),
    "hourly-health-check": ("tenants.tasks.dispatch_health_checks", "5", "*", "*"),
    "backup-nightly": ("ops.tasks.backup_nightly", "0", "3", "*"),
    "backups-cleanup": ("ops.tasks.backups_cleanup", "0", "4", "0"),
    "restore-drill": ("ops.tasks.restore_drill", "0", "5", "0"),
    "playbook-triggers": ("playbooks.tasks.dispatch_trigger_evaluation", "*/15", "*", "*"),
    "peer-benchmarks": ("kpis.tasks.peer_benchmarks_publish", "30", "3", "*"),
    "notifications-daily": ("playbooks.tasks.dispatch_notifications_daily", "0", "7", "*"),
    "resume-stalled-uploads": ("ingest.tasks.dispatch_resume_stalled_uploads", "*/10", "*", "*"),
    "alert-reminders": ("ops.tasks.alerts_remind_due", "*/15", "*", "*"),
}


def rows() -> dict[str, tuple]:
    return {
        task.name: (task.task, task.crontab.minute, task.crontab.hour, task.crontab.day_of_week)
        for task in PeriodicTask.objects.select_related("crontab").exclude(name="celery.backend_cleanup")
    }


@override_settings(OPS_TIMEZONE="Europe/Paris")
def test_created_once_in_the_ops_time_zone(db):
    assert schedules_ensure() == [schedule.name for schedule in SCHEDULES]
    assert schedules_ensure() == []

    assert rows() == EXPECTED
    assert {str(task.crontab.timezone) for task in PeriodicTask.objects.all()} == {"Europe/Paris"}


def test_every_scheduled_task_exists(db):
    app.loader.import_default_modules()

    assert {task for task, *_ in EXPECTED.values()} <= set(app.tasks)


def test_an_operators_edits_survive_bootstrap_and_beat_starting(transactional_db):
    call_command("bootstrap", verbosity=0)
    backup = PeriodicTask.objects.get(name="backup-nightly")
    crontab = backup.crontab
    crontab.hour, crontab.minute = "1", "30"
    crontab.save()
    PeriodicTask.objects.filter(name="restore-drill").update(enabled=False)
    PeriodicTask.objects.get(name="alert-reminders").delete()

    call_command("bootstrap", verbosity=0)  # the next deploy's release step
    DatabaseScheduler(app=app)  # beat starting: it syncs the settings schedule into the rows

    backup.refresh_from_db()
    assert (backup.crontab.hour, backup.crontab.minute, backup.enabled) == ("1", "30", True)
    assert not PeriodicTask.objects.get(name="restore-drill").enabled
    assert PeriodicTask.objects.filter(name="alert-reminders").exists()  # missing ones come back


def test_staff_see_and_edit_the_schedules_in_the_back_office(public):
    schedules_ensure()
    client = host_client(None)
    client.force_login(
        User.objects.create_user("ops", password="x-long-password-1", is_staff=True, is_superuser=True)
    )
    backup = PeriodicTask.objects.get(name="backup-nightly")

    listing = client.get("/admin/django_celery_beat/periodictask/")
    form = client.get(f"/admin/django_celery_beat/periodictask/{backup.pk}/change/")

    assert listing.status_code == form.status_code == 200
    assert b"backup-nightly" in listing.content and b"ops.tasks.backup_nightly" in form.content
