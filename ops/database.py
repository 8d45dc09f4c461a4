"""Database care (the predecessor's "database info" and "maintenance"): sizes per schema, the
largest tables, connections, and VACUUM (ANALYZE) schema by schema.

Row counts here are PostgreSQL's statistics (n_live_tup), which ANALYZE keeps close: counting
every table of hundreds of schemas exactly would cost more than the answer is worth.
"""

from dataclasses import dataclass

from django.db import connection

from ops.backups import SYSTEM_SCHEMAS, user_tables
from ops.pgtools import connect

SCHEMAS_SQL = """
    SELECT n.nspname, count(c.oid) FILTER (WHERE c.relkind IN ('r', 'p')),
           coalesce(sum(pg_total_relation_size(c.oid)) FILTER (WHERE c.relkind IN ('r', 'p', 'm')), 0),
           coalesce(sum(s.n_live_tup), 0)
    FROM pg_namespace n
    LEFT JOIN pg_class c ON c.relnamespace = n.oid
    LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
    WHERE n.nspname <> ALL(%s) AND n.nspname NOT LIKE 'pg\\_%%'
    GROUP BY n.nspname ORDER BY 3 DESC, 1
"""
TABLES_SQL = """
    SELECT s.schemaname, s.relname, pg_total_relation_size(s.relid), s.n_live_tup,
           greatest(s.last_vacuum, s.last_autovacuum), greatest(s.last_analyze, s.last_autoanalyze)
    FROM pg_stat_user_tables s ORDER BY 3 DESC, 1, 2 LIMIT %s
"""
CONNECTIONS_SQL = """
    SELECT coalesce(state, 'background'), count(*) FROM pg_stat_activity
    WHERE datname = current_database() GROUP BY 1 ORDER BY 2 DESC
"""


@dataclass(frozen=True)
class SchemaSize:
    name: str
    tables: int
    bytes: int
    rows: int


@dataclass(frozen=True)
class TableSize:
    schema: str
    name: str
    bytes: int
    rows: int
    last_vacuum: object
    last_analyze: object


@dataclass(frozen=True)
class DatabaseInfo:
    name: str
    server_version: str
    bytes: int
    max_connections: int
    connections: dict[str, int]
    schemas: list[SchemaSize]
    largest_tables: list[TableSize]


def database_info(*, largest: int = 10) -> DatabaseInfo:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), version(), pg_database_size(current_database())")
        name, version, size = cursor.fetchone()
        cursor.execute("SHOW max_connections")
        max_connections = int(cursor.fetchone()[0])
        cursor.execute(CONNECTIONS_SQL)
        connections = dict(cursor.fetchall())
        cursor.execute(SCHEMAS_SQL, [list(SYSTEM_SCHEMAS)])
        schemas = [SchemaSize(*row) for row in cursor.fetchall()]
        cursor.execute(TABLES_SQL, [largest])
        tables = [TableSize(*row) for row in cursor.fetchall()]
    return DatabaseInfo(name, version.split(" on ")[0], size, max_connections, connections, schemas, tables)


def maintenance_schemas() -> list[str]:
    """Every schema with tables, public first, in the order maintenance visits them."""
    with connect() as conn, conn.cursor() as cursor:
        schemas = {schema for schema, _table in user_tables(cursor)}
    return sorted(schemas, key=lambda schema: (schema != "public", schema))


def schema_vacuum_analyze(schema: str) -> int:
    """VACUUM (ANALYZE) every table of `schema`, one at a time (VACUUM runs outside a transaction
    and takes no lock that blocks reads or writes); the number of tables."""
    with connect(autocommit=True) as conn, conn.cursor() as cursor:
        tables = user_tables(cursor, schema=schema)
        for namespace, table in tables:
            cursor.execute(f'VACUUM (ANALYZE) "{namespace}"."{table}"')
    return len(tables)
