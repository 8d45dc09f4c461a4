"""Trigger evaluation on a schedule (every 15 minutes, per tenant) and after uploads."""

from celery import shared_task

from playbooks.notifications import execution_assigned_mail, notifications_daily_send
from playbooks.services import triggers_evaluate
from tenants.tasks import fan_out


@shared_task(time_limit=300, soft_time_limit=280)
def dispatch_trigger_evaluation() -> int:
    return fan_out(evaluate_triggers)


@shared_task(time_limit=600, soft_time_limit=580)
def evaluate_triggers(account_ids: list[int] | None = None) -> int:
    return triggers_evaluate(account_ids=account_ids)


@shared_task(time_limit=60, soft_time_limit=50)
def dispatch_notifications_daily() -> int:
    return fan_out(notifications_daily)


@shared_task(time_limit=600, soft_time_limit=580, autoretry_for=(OSError,), retry_backoff=60, max_retries=3)
def notifications_daily() -> int:
    """This workspace's morning digests and due-today reminders."""
    return notifications_daily_send()


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5, time_limit=60, soft_time_limit=50)
def execution_assigned_notify(execution_id: str, username: str) -> bool:
    """Tell the owner, if the run is still open and theirs when the task runs and they want to hear."""
    return execution_assigned_mail(execution_id=execution_id, username=username)
