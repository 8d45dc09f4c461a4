"""Reads about uploads that decide what the background work does next."""

import datetime as dt

from django.db.models import Q

from ingest.models import Upload, UploadFollowUp


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
