"""What /health/ and the operations page know about backups and restore drills, read from their
records (ops.Backup, ops.RestoreDrill). With no backup record the backup check fails, which is
the truth on a deployment that takes none.

Contract: newest_backup() returns the newest *complete, whole-database* backup or None;
backups_recent(limit) the newest `limit` backups (any kind), newest first; drill_last() the
latest restore drill or None. Times are aware datetimes (UTC).
"""

import datetime as dt
from dataclasses import dataclass

from ops.backups import backups_newest
from ops.models import Backup, RestoreDrill
from ops.restore import restore_drill_latest


@dataclass(frozen=True)
class BackupInfo:
    name: str  # the file name, e.g. pulse-20261129T030000Z.dump
    finished_at: dt.datetime
    size_bytes: int
    sha256: str
    offsite: bool  # copied to AWS_S3_BACKUP_BUCKET and verified there
    tenant: str = ""  # the slug of a one-tenant backup; "" for the whole database


@dataclass(frozen=True)
class DrillInfo:
    finished_at: dt.datetime
    ok: bool
    backup_name: str
    tables: int
    rows: int
    message: str  # "restore drill: 312 tables, 48120 rows, identical" or what differed


def newest_backup() -> BackupInfo | None:
    backup = backups_newest()
    return _backup_info(backup) if backup else None


def backups_recent(*, limit: int = 10) -> list[BackupInfo]:
    return [_backup_info(backup) for backup in Backup.objects.order_by("-started_at")[:limit]]


def drill_last() -> DrillInfo | None:
    drill = restore_drill_latest()
    if drill is None:
        return None
    return DrillInfo(
        finished_at=drill.started_at + dt.timedelta(seconds=drill.duration_seconds),
        ok=drill.identical,
        backup_name=drill.backup_file_name,
        tables=drill.tables,
        rows=drill.rows,
        message=_drill_message(drill),
    )


def _backup_info(backup: Backup) -> BackupInfo:
    return BackupInfo(
        name=backup.file_name if backup.status == Backup.Status.OK else f"{backup.file_name} (failed)",
        finished_at=backup.started_at + dt.timedelta(seconds=backup.duration_seconds),
        size_bytes=backup.size_bytes,
        sha256=backup.sha256,
        offsite=backup.offsite == Backup.Offsite.UPLOADED,
        tenant=backup.tenant_slug,
    )


def _drill_message(drill: RestoreDrill) -> str:
    if drill.identical:
        return f"restore drill: {drill.tables} tables, {drill.rows} rows, identical"
    if drill.error:
        return drill.error
    return f"{len(drill.differences)} table(s) differ from the manifest"
