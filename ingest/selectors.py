"""Reads about uploads that decide what the background work does next."""

import datetime as dt
from typing import Any

from django.db.models import Q

from ingest.models import SalesRecord, SyncRun, Upload, UploadFollowUp
from ingest.services import UNEXPECTED_FAILURE, UPLOAD_SOURCE
from kpis.models import Account, KpiValue, RenewalOutcome
from kpis.timeline import TimelineEvent, portal_path


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


def account_upload_events(account: Account, limit: int) -> list[TimelineEvent]:
    """Loaded uploads that wrote the account's KPI values, renewals or sales records (kpis.timeline
    source), newest first, at most `limit`. The written rows name their upload: KPI values and
    renewals as `source` "upload:<id>", sales records by foreign key."""
    sources = {
        *KpiValue.objects.filter(account=account, source__startswith=UPLOAD_SOURCE).values_list(
            "source", flat=True
        ),
        *RenewalOutcome.objects.filter(account=account, source__startswith=UPLOAD_SOURCE).values_list(
            "source", flat=True
        ),
    }
    ids = {
        int(source.removeprefix(UPLOAD_SOURCE))
        for source in sources
        if source[len(UPLOAD_SOURCE) :].isdigit()
    }
    ids |= set(
        SalesRecord.objects.filter(account=account, upload__isnull=False).values_list("upload_id", flat=True)
    )
    uploads = Upload.objects.filter(pk__in=ids, status=Upload.Status.COMPLETED).order_by(
        "-finished_at", "-pk"
    )
    return [_upload_event(upload) for upload in uploads[:limit]]


def _upload_event(upload: Upload) -> TimelineEvent:
    return TimelineEvent(
        upload.finished_at or upload.created_at,
        "upload",
        f"Upload loaded: {upload.original_name} ({upload.get_kind_display()})",
        f"{upload.inserted} rows added, {upload.updated} updated, {upload.rejected} rejected",
        upload.uploaded_by,
        portal_path("upload_detail", upload.public_id),
    )
