"""Off-site copies in an S3 bucket (AWS_S3_BACKUP_BUCKET): every backup's dump, checksum and
manifest, each read back after upload and compared by SHA-256 before the copy counts.

Credentials and region come from boto3's own configuration (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION or an instance role); AWS_S3_ENDPOINT_URL points at an
S3-compatible store other than AWS.
"""

import logging
from pathlib import Path

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from ops.checksums import CHUNK, chunks_sha256, file_sha256
from ops.models import Backup

logger = logging.getLogger(__name__)

KEY_PREFIX = "backups/"


class OffsiteMismatch(Exception):
    """What the bucket holds differs from the file we sent."""


# Everything that can go wrong talking to the bucket.
OffsiteError = (BotoCoreError, ClientError, S3UploadFailedError, OffsiteMismatch, OSError)


def s3_client():
    return boto3.client("s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL or None)


def object_key(path: Path) -> str:
    return KEY_PREFIX + path.name


def _remote_sha256(client, key: str) -> str:
    body = client.get_object(Bucket=settings.AWS_S3_BACKUP_BUCKET, Key=key)["Body"]
    return chunks_sha256(body.iter_chunks(CHUNK))


def _upload_verified(client, path: Path) -> None:
    key = object_key(path)
    client.upload_file(str(path), settings.AWS_S3_BACKUP_BUCKET, key)
    if _remote_sha256(client, key) != file_sha256(path):
        raise OffsiteMismatch(
            f"s3://{settings.AWS_S3_BACKUP_BUCKET}/{key} differs from {path.name} after upload"
        )


def backup_upload(*, backup: Backup, paths: list[Path]) -> Backup:
    """Upload a backup's files and verify them; record the outcome on the Backup (never raises
    for the bucket's sake: the local backup is good either way, and the record is what alerts read)."""
    try:
        client = s3_client()
        for path in paths:
            _upload_verified(client, path)
    except OffsiteError as error:
        logger.error("Off-site copy of %s failed: %s", backup.file_name, error)
        backup.offsite, backup.offsite_error = Backup.Offsite.FAILED, str(error)
    else:
        backup.offsite, backup.offsite_error = Backup.Offsite.UPLOADED, ""
    backup.save(update_fields=["offsite", "offsite_error"])
    return backup


def offsite_delete(*, paths: list[Path]) -> None:
    """Remove the bucket's copies of these files (retention); missing ones are fine."""
    keys = [{"Key": object_key(path)} for path in paths]
    answer = s3_client().delete_objects(Bucket=settings.AWS_S3_BACKUP_BUCKET, Delete={"Objects": keys})
    if answer.get("Errors"):
        raise OffsiteMismatch(f"the bucket refused to delete: {answer['Errors']}")
