"""Health work in the background, in the schema of the tenant that queued it."""

from celery import chord, shared_task
from django.db import connection
from django_tenants.utils import schema_context

from kpis.models import HealthModel, Insight
from kpis.recompute import CHUNK_SIZE, account_chunks
from kpis.services import (
    health_accounts_refresh,
    health_backfill_finish,
    health_backfill_inline,
    insight_newest_pk,
    learned_model_train,
    peer_benchmarks_refresh,
    report_card_compute,
)
from kpis.slack import SlackRefused, critical_insights_post
from tenants.selectors import slack_webhook_url_current
from users.notifications import user_mail_if_wanted


@shared_task(bind=True, time_limit=60 * 60, soft_time_limit=55 * 60)
def health_backfill(self, model_version: int, chunk_size: int = CHUNK_SIZE) -> int | None:
    """Every month of every account under `model_version`, then the switch to it. In a worker,
    a chord: one task per chunk of accounts, on whichever worker processes are free, and a
    callback that switches once every chunk succeeded (a failed chunk leaves the previous version
    current; queueing the backfill again redoes it, chunks are idempotent). Called directly
    (tests), or for a single chunk, it runs inline and returns the snapshots written."""
    model = HealthModel.objects.get(version=model_version)
    chunks = list(account_chunks(chunk_size=chunk_size))
    if self.request.called_directly or len(chunks) <= 1:
        return health_backfill_inline(model=model)
    schema_name = connection.schema_name
    chunk_tasks = [health_chunk_refresh.si(schema_name, model_version, chunk) for chunk in chunks]
    chord(chunk_tasks)(health_backfill_switch.si(schema_name, model_version, insight_newest_pk()))
    return None


# Each task names its tenant's schema and runs in it, whichever worker, machine or chord
# callback picks it up: a chunk of tenant A can only ever write A's rows.
@shared_task(time_limit=15 * 60, soft_time_limit=14 * 60)
def health_chunk_refresh(schema_name: str, model_version: int, account_ids: list[int]) -> int:
    with schema_context(schema_name):
        model = HealthModel.objects.get(version=model_version)
        return health_accounts_refresh(model=model, account_ids=account_ids)


@shared_task(time_limit=30 * 60, soft_time_limit=28 * 60)
def health_backfill_switch(schema_name: str, model_version: int, newest_insight_before: int) -> None:
    with schema_context(schema_name):
        model = HealthModel.objects.get(version=model_version)
        health_backfill_finish(model=model, newest_insight_before=newest_insight_before)


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
