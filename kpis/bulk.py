"""Set-based writes into kpis' tables from another app's scratch tables (ingest's loads).

kpis owns its tables, so the SQL that writes them lives here and names them from the models
(`_meta.db_table`); callers pass only the names of their own scratch tables (the only names
put into the SQL text: never user input, which goes as parameters). Everything runs
in the caller's transaction and counts in SQL, so a million written rows never travel back to
Python.
"""

from typing import NamedTuple

from django.db import connection

from kpis.models import ACCOUNT_FIELDS, Account, KpiDefinition, KpiValue, RenewalOutcome

ACCOUNTS = Account._meta.db_table
KPIS = KpiDefinition._meta.db_table
VALUES = KpiValue._meta.db_table
RENEWALS = RenewalOutcome._meta.db_table
RENEWAL_FIELDS = ("outcome", "arr_before", "arr_after")


class Written(NamedTuple):
    inserted: int
    updated: int
    account_ids: list[int]  # sorted, each once


def written(dml: str, returning: str, params=None) -> Written:
    """Run an INSERT or UPDATE whose RETURNING gives `account_id` and `is_new` per written row,
    and count in SQL what it wrote."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH written AS ({dml} RETURNING {returning})
            SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new),
                   coalesce(array_agg(DISTINCT account_id), '{{}}') FROM written
            """,
            params,
        )
        inserted, updated, touched = cursor.fetchone()
    return Written(inserted, updated, sorted(touched))


def accounts_upsert_from(stage: str) -> Written:
    """Upsert `stage`'s (external_id and ACCOUNT_FIELDS) rows by external id; a row equal to what
    is stored is not written."""
    assignments = ", ".join(f"{f} = EXCLUDED.{f}" for f in ACCOUNT_FIELDS)
    current = ", ".join(f"a.{f}" for f in ACCOUNT_FIELDS)
    incoming = ", ".join(f"EXCLUDED.{f}" for f in ACCOUNT_FIELDS)
    return written(
        f"""
        INSERT INTO {ACCOUNTS} AS a (external_id, {", ".join(ACCOUNT_FIELDS)}, created_at, updated_at)
        SELECT external_id, name, coalesce(revenue, 0), coalesce(industry, ''), coalesce(region, ''),
               coalesce(status, 'active'), renewal_date, coalesce(owner, ''), now(), now()
        FROM {stage}
        ON CONFLICT (external_id) DO UPDATE SET {assignments}, updated_at = now()
        WHERE ({current}) IS DISTINCT FROM ({incoming})
        """,
        "a.id AS account_id, (xmax = 0) AS is_new",
    )


def accounts_resolve(stage: str, mapping: str) -> None:
    """Create `mapping` (text, account_id): every `account` text of `stage` mapped to an account by
    external id first, then by name; account_id is NULL for a text naming no account. One row per
    distinct text, so a million rows cost one pass."""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            CREATE UNLOGGED TABLE {mapping} AS
            SELECT DISTINCT s.account AS text, a.id AS account_id
            FROM {stage} s LEFT JOIN {ACCOUNTS} a ON a.external_id = s.account
        """)
        cursor.execute(f"""
            UPDATE {mapping} m SET account_id = a.id FROM {ACCOUNTS} a
            WHERE m.account_id IS NULL AND a.name = m.text
        """)


def accounts_create_missing(mapping: str) -> list[str]:
    """Create the accounts `mapping` (see accounts_resolve) names but that do not exist yet
    (external id and name = the given text), as the predecessor did, and map them. Returns the
    names of those created."""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {ACCOUNTS} (external_id, name, revenue, industry, region, status, owner, created_at, updated_at)
            SELECT text, text, 0, '', '', 'active', '', now(), now() FROM {mapping}
            WHERE account_id IS NULL
            ON CONFLICT (external_id) DO NOTHING
            RETURNING name
        """)
        created = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"""
            UPDATE {mapping} m SET account_id = a.id FROM {ACCOUNTS} a
            WHERE m.account_id IS NULL AND a.external_id = m.text
        """)
    return created


def accounts_mark_churned(account_ids: list[int]) -> int:
    """Accounts among these whose latest renewal is a churn get the status churned."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {ACCOUNTS} a SET status = 'churned', updated_at = now()
            WHERE a.id = ANY(%s) AND a.status <> 'churned' AND (
                SELECT r.outcome FROM {RENEWALS} r WHERE r.account_id = a.id
                ORDER BY r.renewal_date DESC LIMIT 1
            ) = 'churned'
            """,
            [account_ids],
        )
        return cursor.rowcount


# A changed value becomes a new current version; the version it replaces stays, no longer current.
VERSIONING_STATEMENTS = (
    f"""CREATE TEMP TABLE kpis_changed ON COMMIT DROP AS
        SELECT s.account_id, s.kpi_id, s.period, s.value, v.version AS old_version
        FROM {{table}} s LEFT JOIN {VALUES} v
          ON v.account_id = s.account_id AND v.kpi_id = s.kpi_id AND v.period = s.period AND v.is_current
        WHERE v.id IS NULL OR v.value IS DISTINCT FROM s.value""",
    f"""UPDATE {VALUES} v SET is_current = false FROM kpis_changed c
        WHERE v.account_id = c.account_id AND v.kpi_id = c.kpi_id AND v.period = c.period AND v.is_current""",
    f"""INSERT INTO {VALUES} (account_id, kpi_id, period, value, version, is_current, source, created_at)
        SELECT c.account_id, c.kpi_id, c.period, c.value,
               coalesce((SELECT max(version) FROM {VALUES} v WHERE v.account_id = c.account_id
                         AND v.kpi_id = c.kpi_id AND v.period = c.period), 0) + 1,
               true, %(source)s, now()
        FROM kpis_changed c""",
)


def kpi_values_merge_from(table: str, source: str) -> Written:
    """Merge `table`'s (account_id, kpi_id, period, value) rows into the versioned series: a new
    value for an account, KPI and month becomes a new version; the same value changes nothing."""
    with connection.cursor() as cursor:
        for statement in VERSIONING_STATEMENTS:
            cursor.execute(statement.format(table=table), {"source": source})
        cursor.execute("""
            SELECT count(*) FILTER (WHERE old_version IS NULL), count(*) FILTER (WHERE old_version IS NOT NULL),
                   coalesce(array_agg(DISTINCT account_id), '{}') FROM kpis_changed
        """)
        inserted, updated, touched = cursor.fetchone()
        cursor.execute("DROP TABLE kpis_changed")
    return Written(inserted, updated, sorted(touched))


def renewals_upsert_from(stage: str, mapping: str, source: str) -> Written:
    """Upsert `stage`'s renewal rows (account text mapped to ids by `mapping`, see accounts_resolve)
    by account and renewal date; a row equal to what is stored is not written."""
    assignments = ", ".join(f"{f} = EXCLUDED.{f}" for f in RENEWAL_FIELDS)
    current = ", ".join(f"r.{f}" for f in RENEWAL_FIELDS)
    incoming = ", ".join(f"EXCLUDED.{f}" for f in RENEWAL_FIELDS)
    return written(
        f"""
        INSERT INTO {RENEWALS} AS r
            (account_id, renewal_date, {", ".join(RENEWAL_FIELDS)}, source, created_at, updated_at)
        SELECT m.account_id, s.renewal_date, s.outcome, s.arr_before, s.arr_after, %s, now(), now()
        FROM {stage} s JOIN {mapping} m ON m.text = s.account
        ON CONFLICT (account_id, renewal_date) DO UPDATE SET {assignments}, source = EXCLUDED.source, updated_at = now()
        WHERE ({current}) IS DISTINCT FROM ({incoming})
        """,
        "r.account_id AS account_id, (xmax = 0) AS is_new",
        [source],
    )
