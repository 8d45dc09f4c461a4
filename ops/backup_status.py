"""What /health/ and the operations page know about backups and restore drills: the join point
with the backup side (`manage.py backup`, `restore_drill`, their records), which fills in the
two functions below. Until it does, there is no backup record, so the backup check fails, which
is the truth on a deployment that takes none.

Contract: newest_backup() returns the newest *complete, whole-database* backup or None;
backups_recent(limit) the newest `limit` backups (any kind), newest first; drill_last() the
latest restore drill or None. Times are aware datetimes (UTC).
"""

import datetime as dt
from dataclasses import dataclass


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
    return None


def backups_recent(*, limit: int = 10) -> list[BackupInfo]:
    return []


def drill_last() -> DrillInfo | None:
    return None
