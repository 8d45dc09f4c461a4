"""Restores: the whole database into an empty one, one tenant side by side as a new tenant, and the
weekly restore drill that proves the newest backup restores with the row counts of its manifest.

Every restore verifies the backup's checksum file first: a damaged or altered dump or manifest is
refused before anything is written.
"""

import json
import logging
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from django.utils import timezone

from ops.backups import BackupFiles, backup_dir, backup_files, backups_newest, table_row_counts, user_tables
from ops.checksums import file_sha256
from ops.models import RestoreDrill
from ops.pgtools import (
    PgToolError,
    connect,
    database_create,
    database_drop,
    database_settings,
    pg_program,
    run,
)
from tenants.models import Tenant
from tenants.services import slug_ensure_available, tenant_restore_public_rows

logger = logging.getLogger(__name__)

SCRATCH_PREFIX = "pulse_scratch_"


class RestoreRefused(Exception):
    """The backup or the target is not fit for this restore; nothing was written."""


def _checksums(files: BackupFiles) -> dict[str, str]:
    """{file name: SHA-256} from the .sha256, which must name exactly the dump and the manifest."""
    lines = (line.split(maxsplit=1) for line in files.checksum.read_text().splitlines())
    listed = {parts[1]: parts[0] for parts in lines if len(parts) == 2}
    if set(listed) != {files.dump.name, files.manifest.name}:
        raise RestoreRefused(
            f"{files.checksum.name} does not list the checksums of {files.dump.name} and {files.manifest.name}: "
            f"it is damaged or belongs to another backup. Nothing was restored; use another backup."
        )
    return listed


def backup_verify(dump: Path) -> dict:
    """The manifest of `dump` once the dump and manifest match their .sha256; else RestoreRefused."""
    files = BackupFiles(dump)
    missing = [path.name for path in files.all() if not path.is_file()]
    if missing:
        raise RestoreRefused(
            f"{', '.join(missing)} not found: a backup is a .dump with its .sha256 and .json."
        )
    for name, expected in _checksums(files).items():
        if file_sha256(dump.with_name(name)) != expected:
            raise RestoreRefused(
                f"{name} does not match its checksum in {files.checksum.name}: the file is damaged or was "
                f"changed since the backup. Nothing was restored; use another backup."
            )
    return json.loads(files.manifest.read_text())


def _user_table_count(database: str) -> int:
    with connect(database) as conn, conn.cursor() as cursor:
        return len(user_tables(cursor))


def _schemas_drop_all(database: str) -> None:
    """Put a database that a failed restore started filling back to empty."""
    with connect(database, autocommit=True) as conn:
        schemas = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('information_schema', 'public') "
            "AND nspname NOT LIKE 'pg\\_%'"
        ).fetchall()
        for (schema,) in schemas:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def database_restore(*, dump: Path, database: str | None = None) -> dict:
    """Restore a whole-database backup into `database` (default: Pulse's own), which must be empty;
    its manifest. A restore that fails halfway empties the database again."""
    manifest = backup_verify(dump)
    if manifest["kind"] != "database":
        raise RestoreRefused(
            f"{dump.name} is a backup of tenant “{manifest['tenant']}”: restore it with --tenant."
        )
    name = database or database_settings()["dbname"]
    tables = _user_table_count(name)
    if tables:
        raise RestoreRefused(
            f"Database “{name}” is not empty ({tables} tables): a restore only goes into an empty database. "
            f"Create a new database, point DATABASE_URL at it and run restore again."
        )
    try:
        run(
            pg_program("pg_restore"),
            ["--exit-on-error", "--no-owner", f"--dbname={name}", str(dump)],
            database=name,
        )
    except PgToolError:
        _schemas_drop_all(name)
        raise
    return manifest


def _scratch_name() -> str:
    return SCRATCH_PREFIX + uuid.uuid4().hex[:12]


def _schema_renamed_dump(*, dump: Path, slug: str, new_slug: str, into: Path) -> None:
    """Write to `into` a dump of the backup's tenant schema renamed to `new_slug`, going through a
    scratch database (pg_restore cannot rename a schema), without the copy's sign-in sessions."""
    scratch = _scratch_name()
    database_create(scratch)
    try:
        run(
            pg_program("pg_restore"),
            ["--exit-on-error", "--no-owner", f"--dbname={scratch}", str(dump)],
            database=scratch,
        )
        with connect(scratch, autocommit=True) as conn:
            conn.execute(f'ALTER SCHEMA "{slug}" RENAME TO "{new_slug}"')
            if conn.execute("SELECT to_regclass(%s)", [f'"{new_slug}".django_session']).fetchone()[0]:
                conn.execute(f'DELETE FROM "{new_slug}".django_session')  # sessions are credentials
        run(
            pg_program("pg_dump"),
            ["--format=custom", "--no-owner", f"--schema={new_slug}", f"--file={into}"],
            database=scratch,
        )
    finally:
        database_drop(scratch)


def tenant_restore(*, dump: Path, slug: str, new_slug: str) -> Tenant:
    """Restore tenant `slug`'s backup side by side as a new tenant `new_slug`: its own schema, host,
    ids and keys; the original and every other tenant are not touched."""
    manifest = backup_verify(dump)
    if manifest["kind"] != "tenant" or manifest["tenant"] != slug:
        found = f"tenant “{manifest['tenant']}”" if manifest["kind"] == "tenant" else "the whole database"
        raise RestoreRefused(f"{dump.name} is a backup of {found}, not of tenant “{slug}”.")
    slug_ensure_available(new_slug)
    with tempfile.TemporaryDirectory(dir=backup_dir()) as workdir:
        renamed = Path(workdir) / "renamed.dump"
        _schema_renamed_dump(dump=dump, slug=slug, new_slug=new_slug, into=renamed)
        run(
            pg_program("pg_restore"),
            [
                "--exit-on-error",
                "--single-transaction",
                "--no-owner",
                f"--dbname={database_settings()['dbname']}",
                str(renamed),
            ],
        )
    try:
        tenant = tenant_restore_public_rows(slug=new_slug, rows=manifest["public_rows"])
    except Exception:
        with connect(autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{new_slug}" CASCADE')
        raise
    logger.info("Restored tenant %s from %s as %s", slug, dump.name, new_slug)
    return tenant


def restore_drill_latest() -> RestoreDrill | None:
    """The last restore drill run, whatever its outcome."""
    return RestoreDrill.objects.order_by("-started_at").first()


def _drill_compare(manifest: dict, database: str) -> tuple[dict, list[dict]]:
    # Autocommit: each count its own transaction, so no lock outlives its table's count.
    with connect(database, autocommit=True) as conn, conn.cursor() as cursor:
        found = table_row_counts(cursor)
    expected = manifest["tables"]
    differences = [
        {"table": table, "expected": expected.get(table), "found": found.get(table)}
        for table in sorted(expected.keys() | found.keys())
        if expected.get(table) != found.get(table)
    ]
    return found, differences


def restore_drill_run() -> RestoreDrill:
    """Restore the newest whole-database backup into a scratch database, compare every table's row
    count with its manifest, drop the scratch database and record the result (never raises for the
    backup's sake: a failed drill is a RestoreDrill with identical=False and its error)."""
    drill = RestoreDrill(started_at=timezone.now())
    started = time.monotonic()
    backup = backups_newest()
    if backup is None:
        drill.error = "No complete backup to restore: run `manage.py backup` first."
    else:
        drill.backup, drill.backup_file_name = backup, backup.file_name
        _drill_restore(drill, backup_files(backup).dump)
    drill.duration_seconds = time.monotonic() - started
    drill.save()
    return drill


def _drill_restore(drill: RestoreDrill, dump: Path) -> None:
    scratch = _scratch_name()
    try:
        database_create(scratch)
        manifest = database_restore(dump=dump, database=scratch)
        found, drill.differences = _drill_compare(manifest, scratch)
        drill.tables, drill.rows = len(found), sum(found.values())
        drill.identical = not drill.differences
    except (RestoreRefused, PgToolError, psycopg.Error, OSError) as error:
        drill.error = str(error)
    finally:
        database_drop(scratch)
