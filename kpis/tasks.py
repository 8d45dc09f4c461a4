"""Health work in the background, in the schema of the tenant that queued it."""

from celery import shared_task

from kpis.models import HealthModel, Insight
from kpis.services import health_refresh, learned_model_train, peer_benchmarks_refresh, report_card_compute
from kpis.slack import SlackRefused, critical_insights_post
from tenants.selectors import slack_webhook_url_current
from users.notifications import user_mail_if_wanted


@shared_task(time_limit=60 * 60, soft_time_limit=55 * 60)
def health_backfill(model_version: int) -> int:
    """Every month of every account under `model_version` (chunked, idempotent), then the
    version's report card."""
    written = health_refresh(model=HealthModel.objects.get(version=model_version))
    report_card_compute(model_version=model_version)
    return written


@shared_task(time_limit=15 * 60, soft_time_limit=14 * 60)
def report_card_refresh(model_version: int) -> None:
    """On demand, or after renewal outcomes changed."""
    report_card_compute(model_version=model_version)


@shared_task(time_limit=30 * 60, soft_time_limit=28 * 60)
def learned_model_train_task(learned_model_id: str) -> None:
    learned_model_train(learned_model_id=learned_model_id)


@shared_task(time_limit=30 * 60, soft_time_limit=28 * 60, acks_late=True, task_reject_on_worker_lost=True)
def peer_benchmarks_publish() -> dict:
    """Nightly, from beat, in the public schema. One task rather than a fan-out: a cell can
    only be published with every contributor's aggregate at hand, and keeping those aggregates
    in this task's memory means no table, cache key or file ever holds one tenant's."""
    result = peer_benchmarks_refresh()
    return {"published": result.published, "withheld": result.withheld}


@shared_task(autoretry_for=(OSError,), retry_backoff=30, max_retries=5, time_limit=60, soft_time_limit=50)
def insight_assigned_notify(insight_id: int, username: str) -> bool:
    """Tell the assignee, if it is still theirs when the task runs and they want to hear."""
    insight = Insight.objects.select_related("account").filter(pk=insight_id, assigned_to=username).first()
    if insight is None:
        return False
    return user_mail_if_wanted(
        username=username,
        choice="notify_on_assignment",
        subject=f"Pulse: insight assigned to you — {insight.title}",
        body=(
            f"{insight.title}\n\nAccount: {insight.account}\nSeverity: {insight.get_severity_display()}\n\n"
            f"{insight.detail}\n\nSee it under Insights in your Pulse workspace."
        ),
    )


@shared_task(
    autoretry_for=(SlackRefused,), retry_backoff=30, max_retries=5, time_limit=60, soft_time_limit=50
)
def critical_insights_slack(insight_ids: list[int]) -> bool:
    """One message about one evaluation's new critical insights, to this workspace's webhook."""
    webhook_url = slack_webhook_url_current()
    if not webhook_url:
        return False
    critical_insights_post(insight_ids=insight_ids, webhook_url=webhook_url)
    return True
