"""Backups: a consistent custom-format dump of the whole database or of one tenant, with a SHA-256
file and a JSON manifest beside it in BACKUP_DIR, each recorded as an ops.Backup row.

Row counts and dump come from one snapshot: our own connection opens a REPEATABLE READ transaction,
exports its snapshot, counts every table in it and hands the snapshot to pg_dump (--snapshot), so
the manifest describes exactly what the dump holds even while Pulse keeps writing.

The three files are written under `.partial` names and the dump is renamed last: a failed backup
leaves no `.dump` behind, and a `.dump` always has its checksum and manifest.
"""

import datetime as dt
import json
import logging
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from psycopg import sql

from ops.checksums import file_sha256
from ops.models import Backup
from ops.offsite import OffsiteError, backup_upload, offsite_delete
from ops.pgtools import PgToolError, connect, pg_program, run, server_version
from tenants.models import Tenant
from tenants.selectors import tenant_public_rows

logger = logging.getLogger(__name__)

PARTIAL = ".partial"
COUNT_BATCH = 200  # tables counted per transaction (each holds its locks until it ends)
SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "pg_toast")
TABLES_SQL = """
    SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname <> ALL(%s) AND n.nspname NOT LIKE 'pg_temp%%'
      AND n.nspname NOT LIKE 'pg_toast%%' {only}
    ORDER BY n.nspname, c.relname
"""


class BackupFailed(Exception):
    """The backup did not complete; its Backup row (status failed) says why."""


@dataclass(frozen=True)
class BackupFiles:
    """A dump and the two files that travel with it."""

    dump: Path

    @property
    def checksum(self) -> Path:
        return self.dump.with_suffix(".sha256")

    @property
    def manifest(self) -> Path:
        return self.dump.with_suffix(".json")

    def all(self) -> list[Path]:
        return [self.dump, self.checksum, self.manifest]


def backup_dir() -> Path:
    return Path(settings.BACKUP_DIR)


def pulse_version() -> str:
    with open(settings.BASE_DIR / "pyproject.toml", "rb") as pyproject:
        return tomllib.load(pyproject)["project"]["version"]


def user_tables(cursor, *, schema: str | None = None) -> list[tuple[str, str]]:
    """(schema, table) of every table outside PostgreSQL's own schemas (or of `schema` only)."""
    only = "AND n.nspname = %s" if schema else ""
    cursor.execute(TABLES_SQL.format(only=only), [list(SYSTEM_SCHEMAS), *([schema] if schema else [])])
    return cursor.fetchall()


def table_row_counts(cursor, *, schema: str | None = None) -> dict[str, int]:
    """{"schema.table": rows} for every table (of `schema` only, if given) seen by `cursor`; on an
    autocommit connection, which holds each table's lock only while counting it."""
    counts = {}
    for namespace, table in user_tables(cursor, schema=schema):
        cursor.execute(f'SELECT count(*) FROM "{namespace}"."{table}"')
        counts[f"{namespace}.{table}"] = cursor.fetchone()[0]
    return counts


def _backup_name(tenant_slug: str, started: dt.datetime) -> str:
    stamp = started.strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z"
    return f"pulse-{tenant_slug}-{stamp}.dump" if tenant_slug else f"pulse-{stamp}.dump"


def _snapshot_row_counts(snapshot: str, tables: list[tuple[str, str]]) -> dict[str, int]:
    """{"schema.table": rows} as of an exported snapshot, counted in batches of transactions that
    each import it: one transaction would hold a lock on every table of every tenant at once."""
    counts = {}
    with connect() as conn:
        conn.isolation_level, conn.read_only = psycopg.IsolationLevel.REPEATABLE_READ, True
        for start in range(0, len(tables), COUNT_BATCH):
            with conn.transaction():
                conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
                for schema, table in tables[start : start + COUNT_BATCH]:
                    query = sql.SQL("SELECT count(*) FROM {}.{}").format(
                        sql.Identifier(schema), sql.Identifier(table)
                    )
                    counts[f"{schema}.{table}"] = conn.execute(query).fetchone()[0]
    return counts


def lock_table_size(cursor) -> tuple[int, int]:
    """(max_locks_per_transaction, the sessions it is multiplied by): the server's shared lock table."""
    cursor.execute(
        "SELECT current_setting('max_locks_per_transaction')::int, "
        "current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int"
    )
    return cursor.fetchone()


def _lock_room_ensure(cursor, tables: int) -> None:
    """pg_dump holds a lock on every table it dumps until it ends, in the lock table that every
    session of the server shares. Refuse a dump that would take more than half of it rather than
    make Pulse's own queries fail with "out of shared memory"."""
    per_transaction, sessions = lock_table_size(cursor)
    if tables > per_transaction * sessions // 2:
        needed = -(-2 * tables // sessions)
        raise PgToolError(
            f"pg_dump would lock {tables} tables, more than half of the server's lock table "
            f"(max_locks_per_transaction {per_transaction} × {sessions} sessions). Set "
            f"max_locks_per_transaction to at least {needed} in postgresql.conf and restart PostgreSQL."
        )


def _dump(files: BackupFiles, *, tenant: Tenant | None) -> dict:
    """Write the dump under its partial name; the manifest's content (counts from the same snapshot).

    The exporting transaction touches no table, so it holds no lock; it only keeps the snapshot
    alive for pg_dump and the counts to import."""
    pg_dump = pg_program("pg_dump")
    partial = files.dump.with_name(files.dump.name + PARTIAL)
    with connect() as exporter, exporter.cursor() as cursor:
        exporter.isolation_level, exporter.read_only = psycopg.IsolationLevel.REPEATABLE_READ, True
        snapshot = cursor.execute("SELECT pg_export_snapshot()").fetchone()[0]
        tables = user_tables(cursor, schema=tenant and tenant.schema_name)
        _lock_room_ensure(cursor, len(tables))
        only = ["--schema", tenant.schema_name] if tenant else []
        run(pg_dump, ["--format=custom", f"--snapshot={snapshot}", "--no-owner", f"--file={partial}", *only])
        counts = _snapshot_row_counts(snapshot, tables)
    return {
        "kind": "tenant" if tenant else "database",
        "tenant": tenant.schema_name if tenant else "",
        "schemas": sorted({name.split(".", 1)[0] for name in counts}),
        "tables": counts,
        "pulse_version": pulse_version(),
        "server_version": server_version(),
        "pg_dump": str(pg_dump),
    }


def _write_json(path: Path, content: dict) -> None:
    path.write_text(json.dumps(content, indent=2, sort_keys=True, cls=DjangoJSONEncoder))


def _finish(files: BackupFiles, manifest: dict, *, started: float) -> str:
    """Write manifest and checksum, then rename the three partial files, the dump last; the dump's
    SHA-256."""
    partial = {path: path.with_name(path.name + PARTIAL) for path in files.all()}
    manifest |= {
        "size_bytes": partial[files.dump].stat().st_size,
        "duration_seconds": time.monotonic() - started,
    }
    _write_json(partial[files.manifest], manifest)
    digests = {path: file_sha256(partial[path]) for path in (files.dump, files.manifest)}
    partial[files.checksum].write_text(
        "".join(f"{digest}  {path.name}\n" for path, digest in digests.items())
    )
    for path in (files.manifest, files.checksum, files.dump):
        partial[path].rename(path)
    return digests[files.dump]


def _discard(files: BackupFiles) -> None:
    for path in files.all():
        for candidate in (path, path.with_name(path.name + PARTIAL)):
            candidate.unlink(missing_ok=True)


def backup_create(*, tenant_slug: str = "") -> Backup:
    """Dump the whole database (or one tenant: its schema, its public rows in the manifest) into
    BACKUP_DIR, record it and copy it off site when a bucket is configured (the outcome is on
    Backup.offsite). On any failure of the dump record a failed Backup and raise BackupFailed."""
    started_at, started = timezone.now(), time.monotonic()
    files = BackupFiles(backup_dir() / _backup_name(tenant_slug, started_at))
    tenant = Tenant.objects.get(schema_name=tenant_slug) if tenant_slug else None
    try:
        files.dump.parent.mkdir(parents=True, exist_ok=True)
        manifest = _dump(files, tenant=tenant)
        if tenant:  # read after the dump's snapshot: a usage counter may have moved on meanwhile
            manifest["public_rows"] = tenant_public_rows(tenant)
        sha256 = _finish(files, manifest, started=started)
    except (PgToolError, OSError) as error:
        _discard(files)
        message = str(error)
        Backup.objects.create(
            tenant_slug=tenant_slug,
            file_name=files.dump.name,
            status=Backup.Status.FAILED,
            error=message,
            started_at=started_at,
            duration_seconds=time.monotonic() - started,
        )
        logger.error("Backup %s failed: %s", files.dump.name, message)
        raise BackupFailed(message) from error
    backup = Backup.objects.create(
        tenant_slug=tenant_slug,
        file_name=files.dump.name,
        status=Backup.Status.OK,
        started_at=started_at,
        duration_seconds=manifest["duration_seconds"],
        size_bytes=manifest["size_bytes"],
        sha256=sha256,
        tables=len(manifest["tables"]),
        rows=sum(manifest["tables"].values()),
    )
    logger.info("Backup %s written (%d bytes)", files.dump.name, backup.size_bytes)
    if settings.AWS_S3_BACKUP_BUCKET:
        backup = backup_upload(backup=backup, paths=files.all())
    return backup


def backups_newest(*, tenant_slug: str = "") -> Backup | None:
    """The newest complete backup of the whole database (or of one tenant)."""
    return (
        Backup.objects.filter(status=Backup.Status.OK, tenant_slug=tenant_slug)
        .order_by("-started_at")
        .first()
    )


def backup_files(backup: Backup) -> BackupFiles:
    return BackupFiles(backup_dir() / backup.file_name)


@dataclass
class Cleanup:
    deleted: list[str] = field(default_factory=list)
    kept_newest: str = ""
    failed: dict[str, str] = field(default_factory=dict)  # file name: why it could not be deleted


def backups_expired(*, now: dt.datetime | None = None):
    """Backups older than BACKUP_RETENTION_DAYS, failed ones too, but never the newest complete
    whole-database backup, however old: a stalled backup job must not leave us with none."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.BACKUP_RETENTION_DAYS)
    newest = backups_newest()
    return Backup.objects.filter(started_at__lt=cutoff).exclude(pk=newest.pk if newest else None), newest


def backups_cleanup(*, now: dt.datetime | None = None) -> Cleanup:
    """Delete expired backups: their off-site copies, their files, then their records. One that
    cannot be deleted off site keeps its files and record, to be tried again next time."""
    expired, newest = backups_expired(now=now)
    result = Cleanup(kept_newest=newest.file_name if newest else "")
    for backup in expired:
        files = backup_files(backup)
        try:
            if backup.offsite == Backup.Offsite.UPLOADED:
                offsite_delete(paths=files.all())
        except OffsiteError as error:
            result.failed[backup.file_name] = str(error)
            continue
        for path in files.all():
            path.unlink(missing_ok=True)
        backup.delete()
        result.deleted.append(backup.file_name)
    _stale_partials_delete(now=now or timezone.now())
    return result


def _stale_partials_delete(*, now: dt.datetime) -> None:
    """Half-written files of a backup process that was killed (a failing one removes its own)."""
    day_ago = (now - dt.timedelta(days=1)).timestamp()
    for partial in backup_dir().glob(f"*{PARTIAL}"):
        if partial.stat().st_mtime < day_ago:
            partial.unlink(missing_ok=True)
