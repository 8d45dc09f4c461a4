"""Reads about uploads that decide what the background work does next."""

import datetime as dt
from typing import Any

from django.db.models import Q

from ingest.models import SyncRun, Upload, UploadFollowUp
from ingest.services import UNEXPECTED_FAILURE


def upload_followup_owed(upload: Upload) -> bool:
    """Has the upload's load committed without its follow-up being done yet?"""
    return UploadFollowUp.objects.filter(upload=upload).exists()


def uploads_stalled(*, before: dt.datetime) -> list[int]:
    """Uploads queued or loading since before `before`, or loaded with their follow-up still
    owed since then: their message was lost or their worker died."""
    unfinished = Q(status__in=[Upload.Status.QUEUED, Upload.Status.LOADING], created_at__lt=before)
    return list(
        Upload.objects.filter(unfinished | Q(followup__created_at__lt=before)).values_list("pk", flat=True)
    )


def import_failures_since(*, since: dt.datetime) -> dict[str, int]:
    """This schema's loading problems since `since` that an operator must look at: uploads that
    failed unexpectedly (not files refused for their content, which are the user's to fix) and
    failed sales syncs. Counts only; /health/ must not name a tenant's data."""
    return {
        "uploads_failed": Upload.objects.filter(
            status=Upload.Status.FAILED, message=UNEXPECTED_FAILURE, created_at__gte=since
        ).count(),
        "syncs_failed": SyncRun.objects.filter(status=SyncRun.Status.FAILED, started_at__gte=since).count(),
    }


def import_failures_recent(*, since: dt.datetime, limit: int = 50) -> list[dict]:
    """This schema's unexpected upload failures and failed sync runs since `since`, newest first,
    for the staff operations page."""
    uploads = Upload.objects.filter(
        status=Upload.Status.FAILED, message=UNEXPECTED_FAILURE, created_at__gte=since
    ).values("created_at", "original_name", "message")[:limit]
    syncs = SyncRun.objects.filter(status=SyncRun.Status.FAILED, started_at__gte=since).values(
        "started_at", "source__name", "error"
    )[:limit]
    rows: list[dict[str, Any]] = [
        {"at": u["created_at"], "what": f"Upload {u['original_name']}", "error": u["message"]}
        for u in uploads
    ]
    rows += [{"at": s["started_at"], "what": f"Sync {s['source__name']}", "error": s["error"]} for s in syncs]
    return sorted(rows, key=lambda row: row["at"], reverse=True)[:limit]
