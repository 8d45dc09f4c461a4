"""Set-based loading: valid rows are COPied into a temporary staging table, then merged into
the real tables by a few INSERT … ON CONFLICT statements that report what they did.

Everything runs inside the caller's transaction: the staging table is dropped at commit,
and a crash anywhere leaves the real tables exactly as they were.
"""

from dataclasses import dataclass, field

from django.db import connection

STAGE = "ingest_stage"


@dataclass
class MergeResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    touched_account_ids: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StageSpec:
    columns: tuple[str, ...]
    ddl: str


STAGES = {
    "accounts": StageSpec(
        ("external_id", "name", "revenue", "industry", "region", "status", "renewal_date", "owner"),
        "external_id text, name text, revenue numeric, industry text, region text, status text, "
        "renewal_date date, owner text",
    ),
    "kpis": StageSpec(
        ("account", "kpi", "period", "value"), "account text, kpi text, period date, value float8"
    ),
    "sales": StageSpec(
        ("account", "date", "user_id", "product_name", "quantity", "unit_price", "total_amount", "region"),
        "account text, date date, user_id text, product_name text, quantity int, unit_price numeric, "
        "total_amount numeric, region text",
    ),
}


def stage_create(kind: str) -> None:
    """A fresh staging table. ON COMMIT DROP cleans up after a worker's transaction; the
    DROP first covers callers that process several files inside one outer transaction."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}, ingest_sales_kpis")
        cursor.execute(f"CREATE TEMP TABLE {STAGE} ({STAGES[kind].ddl}) ON COMMIT DROP")


class StageWriter:
    """COPY rows into the staging table as they are validated (constant memory).

    While a COPY is open the connection can run nothing else, so anything that must write
    in between (a batch of row errors) goes through `between_copies`, which ends the COPY,
    runs it, and opens a new one.
    """

    def __init__(self, kind: str):
        self.columns = STAGES[kind].columns
        self._sql = f"COPY {STAGE} ({', '.join(self.columns)}) FROM STDIN"
        self._cursor = connection.cursor()
        self._open()

    def _open(self) -> None:
        self._copy_context = self._cursor.cursor.copy(self._sql)
        self._copy = self._copy_context.__enter__()

    def write(self, record: dict) -> None:
        self._copy.write_row([record.get(column) for column in self.columns])

    def between_copies(self, work) -> None:
        self._copy_context.__exit__(None, None, None)
        work()
        self._open()

    def close(self) -> None:
        self._copy_context.__exit__(None, None, None)
        self._cursor.close()


def _fetch(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else []


def _staged_count() -> int:
    return _fetch(f"SELECT count(*) FROM {STAGE}")[0][0]


# --- accounts --------------------------------------------------------------------------------

ACCOUNT_FIELDS = ("name", "revenue", "industry", "region", "status", "renewal_date", "owner")


def merge_accounts() -> MergeResult:
    """Upsert by external_id; a row equal to what is stored is counted unchanged."""
    assignments = ", ".join(f"{f} = EXCLUDED.{f}" for f in ACCOUNT_FIELDS)
    current = ", ".join(f"a.{f}" for f in ACCOUNT_FIELDS)
    incoming = ", ".join(f"EXCLUDED.{f}" for f in ACCOUNT_FIELDS)
    rows = _fetch(f"""
        INSERT INTO kpis_account AS a (external_id, {", ".join(ACCOUNT_FIELDS)}, created_at, updated_at)
        SELECT external_id, name, coalesce(revenue, 0), coalesce(industry, ''), coalesce(region, ''),
               coalesce(status, 'active'), renewal_date, coalesce(owner, ''), now(), now()
        FROM {STAGE}
        ON CONFLICT (external_id) DO UPDATE SET {assignments}, updated_at = now()
        WHERE ({current}) IS DISTINCT FROM ({incoming})
        RETURNING a.id, (xmax = 0)
    """)  # noqa: S608  (identifiers are ours; values come from the staging table)
    return _counted(rows, _staged_count())


def _counted(rows: list[tuple], staged: int) -> MergeResult:
    inserted = sum(1 for _id, is_new in rows if is_new)
    updated = len(rows) - inserted
    return MergeResult(inserted, updated, staged - len(rows), touched_account_ids=[row[0] for row in rows])


# --- accounts referenced by name or external id (kpis, sales) --------------------------------


def resolve_accounts() -> list[str]:
    """Give every staged row an account_id: by external id first, then by name; accounts not
    known yet are created (external id and name = the given text), as the predecessor did."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {STAGE} ADD COLUMN account_id bigint")
        cursor.execute(
            f"UPDATE {STAGE} s SET account_id = a.id FROM kpis_account a WHERE a.external_id = s.account"
        )
        cursor.execute(f"""
            UPDATE {STAGE} s SET account_id = a.id FROM kpis_account a
            WHERE s.account_id IS NULL AND a.name = s.account
        """)
        cursor.execute(f"""
            INSERT INTO kpis_account (external_id, name, revenue, industry, region, status, owner, created_at, updated_at)
            SELECT DISTINCT account, account, 0, '', '', 'active', '', now(), now() FROM {STAGE}
            WHERE account_id IS NULL
            ON CONFLICT (external_id) DO NOTHING
            RETURNING name
        """)
        created = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"UPDATE {STAGE} s SET account_id = a.id FROM kpis_account a WHERE s.account_id IS NULL AND a.external_id = s.account"
        )
    return created


# --- KPI values --------------------------------------------------------------------------------


def merge_kpi_values(source: str) -> MergeResult:
    """A new value for an existing account+KPI+month becomes a new version (the old one
    stays, no longer current); the same value again changes nothing."""
    created = resolve_accounts()
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {STAGE} ADD COLUMN kpi_id bigint")
        cursor.execute(f"UPDATE {STAGE} s SET kpi_id = k.id FROM kpis_kpidefinition k WHERE k.key = s.kpi")
    result = merge_values_from(STAGE, source)
    result.unchanged = _staged_count() - result.inserted - result.updated
    if created:
        result.notes.append(f"Created {len(created)} account(s) named in the file: {', '.join(created[:5])}")
    return result


VERSIONING_STATEMENTS = (
    """CREATE TEMP TABLE ingest_changed ON COMMIT DROP AS
        SELECT s.account_id, s.kpi_id, s.period, s.value, v.version AS old_version
        FROM {table} s LEFT JOIN kpis_kpivalue v
          ON v.account_id = s.account_id AND v.kpi_id = s.kpi_id AND v.period = s.period AND v.is_current
        WHERE v.id IS NULL OR v.value IS DISTINCT FROM s.value""",
    """UPDATE kpis_kpivalue v SET is_current = false FROM ingest_changed c
        WHERE v.account_id = c.account_id AND v.kpi_id = c.kpi_id AND v.period = c.period AND v.is_current""",
    """INSERT INTO kpis_kpivalue (account_id, kpi_id, period, value, version, is_current, source, created_at)
        SELECT c.account_id, c.kpi_id, c.period, c.value,
               coalesce((SELECT max(version) FROM kpis_kpivalue v WHERE v.account_id = c.account_id
                         AND v.kpi_id = c.kpi_id AND v.period = c.period), 0) + 1,
               true, %(source)s, now()
        FROM ingest_changed c""",
)


def merge_values_from(table: str, source: str) -> MergeResult:
    """Merge (account_id, kpi_id, period, value) rows of `table` into the versioned series."""
    with connection.cursor() as cursor:
        for statement in VERSIONING_STATEMENTS:
            cursor.execute(statement.format(table=table), {"source": source})
        cursor.execute("SELECT old_version IS NULL, account_id FROM ingest_changed")
        rows = cursor.fetchall()
        cursor.execute("DROP TABLE ingest_changed")
    inserted = sum(1 for is_new, _account in rows if is_new)
    touched = sorted({account_id for _new, account_id in rows})
    return MergeResult(inserted, len(rows) - inserted, 0, touched)


# --- sales -------------------------------------------------------------------------------------

SALE_FIELDS = ("quantity", "unit_price", "total_amount", "region")


def merge_sales(upload_id: int) -> MergeResult:
    """Upsert by (account, date, user_id, product_name); then refresh the expansion-revenue
    KPI of the months the sales fall in."""
    created = resolve_accounts()
    assignments = ", ".join(f"{f} = EXCLUDED.{f}" for f in SALE_FIELDS)
    current = ", ".join(f"r.{f}" for f in SALE_FIELDS)
    incoming = ", ".join(f"EXCLUDED.{f}" for f in SALE_FIELDS)
    rows = _fetch(f"""
        INSERT INTO ingest_salesrecord AS r (account_id, date, user_id, product_name, {", ".join(SALE_FIELDS)},
                                            upload_id, created_at, updated_at)
        SELECT account_id, date, user_id, product_name, quantity, unit_price, total_amount, coalesce(region, ''),
               %s, now(), now()
        FROM {STAGE}
        ON CONFLICT (account_id, date, user_id, product_name) DO UPDATE
            SET {assignments}, upload_id = EXCLUDED.upload_id, updated_at = now()
        WHERE ({current}) IS DISTINCT FROM ({incoming})
        RETURNING r.account_id, (xmax = 0)
    """, [upload_id])  # fmt: skip
    result = _counted(rows, _staged_count())
    feed = _feed_expansion_revenue(upload_id)
    result.touched_account_ids = sorted(set(result.touched_account_ids) | set(feed.touched_account_ids))
    if created:
        result.notes.append(f"Created {len(created)} account(s) named in the file: {', '.join(created[:5])}")
    if feed.inserted or feed.updated:
        result.notes.append(f"Updated expansion revenue for {feed.inserted + feed.updated} account-month(s).")
    return result


def _feed_expansion_revenue(upload_id: int) -> MergeResult:
    """Sales are upsell and cross-sell: a month's expansion revenue KPI is the trailing
    twelve months of sales as a % of the account's ARR (accounts with ARR only)."""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            CREATE TEMP TABLE ingest_sales_kpis ON COMMIT DROP AS
            SELECT m.account_id, k.id AS kpi_id, m.period,
                   round(100 * sum(r.total_amount) / a.revenue, 1)::float8 AS value
            FROM (SELECT DISTINCT account_id, date_trunc('month', date)::date AS period FROM {STAGE}) m
            JOIN kpis_account a ON a.id = m.account_id AND a.revenue > 0
            JOIN kpis_kpidefinition k ON k.key = 'expansion_revenue'
            JOIN ingest_salesrecord r ON r.account_id = m.account_id
             AND r.date >= m.period - interval '11 months' AND r.date < m.period + interval '1 month'
            GROUP BY m.account_id, k.id, m.period, a.revenue
        """)
    return merge_values_from("ingest_sales_kpis", f"sales:{upload_id}")
