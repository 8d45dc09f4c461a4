"""Health work in the background, in the schema of the tenant that queued it."""

from celery import shared_task

from kpis.models import HealthModel
from kpis.services import health_refresh


@shared_task(time_limit=60 * 60, soft_time_limit=55 * 60)
def health_backfill(model_version: int) -> int:
    """Every month of every account under `model_version` (chunked, idempotent)."""
    return health_refresh(model=HealthModel.objects.get(version=model_version))


@shared_task(time_limit=15 * 60, soft_time_limit=14 * 60)
def health_refresh_accounts(account_ids: list[int]) -> int:
    """After new data lands for these accounts."""
    return health_refresh(account_ids=account_ids)
