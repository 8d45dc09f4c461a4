"""Upload processing in the background, in the schema of the tenant that queued it.

process_upload and run_due_syncs go to the ingest queue (settings.CELERY_TASK_ROUTES), served by
its own worker, and each holds one of its tenant's ingest slots (ingest/slots.py) while it runs."""

import contextlib
import datetime as dt

from celery import shared_task
from django.utils import timezone

from ingest.alerts import problem_clear, problem_raise
from ingest.models import Upload
from ingest.selectors import upload_followup_owed, uploads_stalled
from ingest.services import upload_process
from ingest.slots import ingest_slot
from ingest.sync import sync_due_sources
from tenants.tasks import fan_out

STALLED_AFTER = dt.timedelta(minutes=20)
BUSY_RETRY_S = 15
SLOT_WAIT_S = 15  # a task whose tenant has no free ingest slot is queued again this much later


@contextlib.contextmanager
def _slot_or_retry(task):
    """Run the block in one of the tenant's ingest slots; with none free, give the process back
    to other tenants' work and come back later (the message keeps its arguments)."""
    with ingest_slot() as held:
        if not held:
            raise task.retry(countdown=SLOT_WAIT_S)
        yield


@shared_task(bind=True, time_limit=60 * 60, soft_time_limit=55 * 60, max_retries=None)
def process_upload(self, upload_id: int) -> str:
    """Idempotent: a redelivered or duplicated message finds the upload claimed or done, and
    finishes the follow-up of a load whose worker died after it committed.

    Not done afterwards means another session holds the upload's lock. That is a concurrent
    delivery, or the database session of a worker that was killed and whose server process
    has not noticed yet: try again shortly rather than drop the message and leave the work."""
    with _slot_or_retry(self):
        try:
            upload = upload_process(upload_id=upload_id)
        except Upload.DoesNotExist:  # deleted while its message waited: nothing left to load
            return "missing"
    if not upload.is_final or upload_followup_owed(upload):
        raise self.retry(countdown=BUSY_RETRY_S)
    return upload.status


@shared_task(time_limit=120, soft_time_limit=100)
def dispatch_resume_stalled_uploads() -> int:
    return fan_out(resume_stalled_uploads)


@shared_task(time_limit=120, soft_time_limit=100)
def resume_stalled_uploads() -> int:
    """Requeue uploads whose message was lost (queued for long) or whose worker died
    mid-load without the broker redelivering (loading for long), and loads whose follow-up
    is still owed long after they committed (the process that loaded them died: a worker, or
    a command or web request, which nothing redelivers). Processing takes an advisory lock, so
    requeueing one that is in fact still running does nothing."""
    ids = uploads_stalled(before=timezone.now() - STALLED_AFTER)
    for upload_id in ids:
        process_upload.delay(upload_id)
    if ids:
        problem_raise(
            kind="uploads_stalled",
            subject="uploads",
            message=f"{len(ids)} upload(s) stalled for over {STALLED_AFTER.seconds // 60} minutes and were "
            "queued again. If this repeats, check that the ingest worker runs and is not stuck.",
        )
    else:
        problem_clear(kind="uploads_stalled", subject="uploads")
    return len(ids)


@shared_task(time_limit=60, soft_time_limit=50)
def dispatch_sales_syncs() -> int:
    """Hourly: each tenant's sources run at their own local hour, so beat cannot know when.
    What is due is decided as of now, however long a tenant's run then waits for a slot."""
    return fan_out(run_due_syncs, timezone.now().isoformat())


@shared_task(bind=True, time_limit=30 * 60, soft_time_limit=25 * 60, max_retries=None)
def run_due_syncs(self, due_at: str | None = None) -> int:
    """Run this tenant's sales syncs that were due at `due_at` (ISO 8601; default now);
    returns how many ran."""
    with _slot_or_retry(self):
        return len(sync_due_sources(now=dt.datetime.fromisoformat(due_at) if due_at else None))
