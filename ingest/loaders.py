"""Set-based loading: valid rows are COPied into a staging table, duplicates inside the file are
rejected in SQL, then a few INSERT … ON CONFLICT statements merge the rest into the real tables
and report what they did.

Everything runs inside the caller's transaction. The scratch tables are UNLOGGED (no WAL, and
PostgreSQL may scan them with parallel workers, which it never does for TEMP tables), named
after the upload so two loads never collide, and dropped before commit; a crash anywhere rolls
their creation back with everything else and leaves the real tables exactly as they were.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db import connection

from ingest.validation import ECHO_LIMIT, SPECS, listing
from kpis import bulk


@dataclass
class MergeResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    touched_account_ids: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    created_accounts: list[str] = field(default_factory=list)  # names, of accounts rows named that were new
    newest_date: date | None = None  # of the sales loaded; a sync's cursor moves up to it


@dataclass(frozen=True)
class StageSpec:
    columns: tuple[str, ...]
    ddl: str

    def is_text(self, column: str) -> bool:
        return f"{column} text" in self.ddl.split(", ")


# What each kind keeps of a valid row. Users' passwords are never written to the database in
# clear, so their stage stops at the role; the caller keeps the passwords in memory by line.
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
    "users": StageSpec(("username", "email", "role"), "username text, email text, role text"),
    "renewals": StageSpec(
        ("account", "renewal_date", "outcome", "arr_before", "arr_after"),
        "account text, renewal_date date, outcome text, arr_before numeric, arr_after numeric",
    ),
}


@dataclass(frozen=True)
class Tables:
    """The scratch tables of one upload, in the tenant's schema (first on the search path)."""

    upload_id: int

    @property
    def raw(self) -> str:
        return f"ingest_raw_{self.upload_id}"

    @property
    def stage(self) -> str:
        return f"ingest_stage_{self.upload_id}"

    @property
    def accounts(self) -> str:
        return f"ingest_accounts_{self.upload_id}"

    @property
    def kpi_rows(self) -> str:
        return f"ingest_kpirows_{self.upload_id}"

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.raw}, {self.stage}, {self.accounts}, {self.kpi_rows}")


def execute(sql: str, params=None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def fetch(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def stage_create(tables: Tables, kind: str) -> None:
    execute(f"CREATE UNLOGGED TABLE {tables.stage} (line int NOT NULL, {STAGES[kind].ddl})")


def stage_write(tables: Tables, kind: str, rows: list[tuple[int, dict]]) -> None:
    """COPY a batch of (line, record) into the staging table."""
    columns = STAGES[kind].columns
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {tables.stage} (line, {', '.join(columns)}) FROM STDIN") as copy,
    ):
        for line, record in rows:
            copy.write_row([line, *(record.get(column) for column in columns)])


def staged_count(tables: Tables) -> int:
    return fetch(f"SELECT count(*) FROM {tables.stage}")[0][0]


def stage_analyze(tables: Tables) -> None:
    """Statistics for the freshly filled staging table, which autovacuum has not seen: without
    them PostgreSQL guesses a few thousand rows and joins a million on the account's text by
    sorting them (merge joins), several times slower than hashing them."""
    execute(f"ANALYZE {tables.stage}")


# --- duplicates inside the file ------------------------------------------------------------------


def reject_duplicates(tables: Tables, kind: str, upload_id: int, room: int) -> int:
    """Rows repeating the natural key of an earlier valid row are rejected, each naming the line
    of the first; at most `room` of them are stored as errors. Returns how many were rejected."""
    key = SPECS[kind].key
    columns = ", ".join(key)
    partition = ", ".join(_byte_ordered(kind, name) for name in key)
    shown = f"concat_ws(' / ', {', '.join(f'{name}::text' for name in key)})"
    reason = f", which has the same {listing(key, 'and')}; keep only one of the two rows"
    with connection.cursor() as cursor:
        cursor.execute(f"""
            CREATE TEMP TABLE ingest_duplicates ON COMMIT DROP AS
            SELECT line, first, {shown} AS shown FROM (
                SELECT line, {columns}, min(line) OVER (PARTITION BY {partition}) AS first FROM {tables.stage}
            ) keyed WHERE line <> first
        """)  # the identifiers are ours, not input
        cursor.execute(
            f"""
            INSERT INTO ingest_uploaderror (upload_id, line, field, value, reason)
            SELECT %(upload)s, line, %(field)s,
                   CASE WHEN length(shown) > {ECHO_LIMIT} THEN left(shown, {ECHO_LIMIT - 1}) || '…' ELSE shown END,
                   left('duplicate of line ' || first || %(reason)s, 300)
            FROM ingest_duplicates ORDER BY line LIMIT %(room)s
        """,
            {"upload": upload_id, "field": ", ".join(key)[:60], "reason": reason, "room": room},
        )
        cursor.execute(f"DELETE FROM {tables.stage} s USING ingest_duplicates d WHERE s.line = d.line")
        rejected = cursor.rowcount
        cursor.execute("DROP TABLE ingest_duplicates")
    return rejected


def _byte_ordered(kind: str, column: str) -> str:
    """A key column as the duplicate check sorts it: text in the "C" collation, compared byte by
    byte. Equal is equal in any deterministic collation (a database's default always is), and
    the sort takes about half the time it takes in the database's own (C.UTF-8, en_US…)."""
    return f'{column} COLLATE "C"' if STAGES[kind].is_text(column) else column


# --- accounts named by rows ----------------------------------------------------------------------

UNKNOWN_ACCOUNT = "unknown account {}; add it in an accounts file first or tick 'create missing accounts'"


def resolve_accounts(tables: Tables) -> None:
    """Map every account text of the staged rows to its account (tables.accounts); the merge
    creates the ones still unmapped, unless reject_unknown_accounts took their rows out first."""
    bulk.accounts_resolve(tables.stage, tables.accounts)


def reject_unknown_accounts(tables: Tables, upload_id: int, room: int) -> int:
    """Rows naming an account that does not exist are rejected with their line (at most `room`
    of them stored as errors), so a typo never creates an account. Returns how many."""
    unknown = f"{tables.stage} s JOIN {tables.accounts} m ON m.text = s.account AND m.account_id IS NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO ingest_uploaderror (upload_id, line, field, value, reason)
            SELECT %(upload)s, s.line, 'account', left(s.account, {ECHO_LIMIT}),
                   left(replace(%(reason)s, '{{account}}', s.account), 300)
            FROM {unknown} ORDER BY s.line LIMIT %(room)s
        """,
            {"upload": upload_id, "reason": UNKNOWN_ACCOUNT.format("{account}"), "room": room},
        )
        cursor.execute(
            f"DELETE FROM {tables.stage} s USING {tables.accounts} m WHERE m.text = s.account AND m.account_id IS NULL"
        )
        rejected = cursor.rowcount
        cursor.execute(f"DELETE FROM {tables.accounts} WHERE account_id IS NULL")
    return rejected


# --- merging -------------------------------------------------------------------------------------


def _merge_result(written: bulk.Written, tables: Tables) -> MergeResult:
    """What a merge wrote, and the staged rows it left as they were counted unchanged."""
    unchanged = staged_count(tables) - written.inserted - written.updated
    return MergeResult(written.inserted, written.updated, unchanged, written.account_ids)


def _lock_merges(table: str) -> None:
    """Merges into one table of one tenant run one after the other (until commit), so rows one
    inserts cannot appear under another's NOT EXISTS and fail it on the unique key."""
    execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.' || %s))", [table])


def merge_accounts(tables: Tables) -> MergeResult:
    """Upsert by external_id; a row equal to what is stored is counted unchanged."""
    return _merge_result(bulk.accounts_upsert_from(tables.stage), tables)


# --- KPI values --------------------------------------------------------------------------------


def merge_kpi_values(tables: Tables, source: str) -> MergeResult:
    """A new value for an existing account+KPI+month becomes a new version (the old one
    stays, no longer current); the same value again changes nothing."""
    created = bulk.accounts_create_missing(tables.accounts)
    execute(f"""
        CREATE UNLOGGED TABLE {tables.kpi_rows} AS
        SELECT m.account_id, k.id AS kpi_id, s.period, s.value
        FROM {tables.stage} s JOIN {tables.accounts} m ON m.text = s.account JOIN {bulk.KPIS} k ON k.key = s.kpi
    """)
    result = _merge_result(bulk.kpi_values_merge_from(tables.kpi_rows, source), tables)
    result.created_accounts = created
    return result


# --- sales -------------------------------------------------------------------------------------

# A staged sale as it will be stored: numeric(14, 2) rounds, and an empty region is ''.
SALE_VALUES = {
    "quantity": "s.quantity",
    "unit_price": "s.unit_price::numeric(14, 2)",
    "total_amount": "s.total_amount::numeric(14, 2)",
    "region": "coalesce(s.region, '')",
}
SALE_KEY_MATCHES = "r.account_id = m.account_id AND r.date = s.date AND r.user_id = s.user_id AND r.product_name = s.product_name"


def merge_sales(tables: Tables, upload_id: int) -> MergeResult:
    """Upsert by (account, date, user_id, product_name); then refresh the expansion-revenue
    KPI of the months the sales fall in.

    An UPDATE of the changed rows then an INSERT of the missing ones, rather than INSERT … ON
    CONFLICT: its speculative insertion costs about 1 s more per million new rows here."""
    created = bulk.accounts_create_missing(tables.accounts)
    _lock_merges("ingest_salesrecord")
    staged = f"{tables.stage} s JOIN {tables.accounts} m ON m.text = s.account"
    fields, values = ", ".join(SALE_VALUES), ", ".join(SALE_VALUES.values())
    changed = bulk.written(
        f"""
        UPDATE ingest_salesrecord r SET ({fields}, upload_id, updated_at) = ({values}, %s, now())
        FROM {staged}
        WHERE {SALE_KEY_MATCHES} AND ({", ".join(f"r.{f}" for f in SALE_VALUES)}) IS DISTINCT FROM ({values})
    """,
        "r.account_id AS account_id, false AS is_new",
        [upload_id],
    )
    added = bulk.written(
        f"""
        INSERT INTO ingest_salesrecord (account_id, date, user_id, product_name, {fields}, upload_id, created_at, updated_at)
        SELECT m.account_id, s.date, s.user_id, s.product_name, {values}, %s, now(), now()
        FROM {staged}
        WHERE NOT EXISTS (SELECT 1 FROM ingest_salesrecord r WHERE {SALE_KEY_MATCHES})
    """,
        "account_id, true AS is_new",
        [upload_id],
    )
    feed = _feed_expansion_revenue(tables, upload_id)
    result = _merge_result(
        bulk.Written(
            added.inserted,
            changed.updated,
            sorted({*added.account_ids, *changed.account_ids, *feed.account_ids}),
        ),
        tables,
    )
    result.newest_date = fetch(f"SELECT max(date) FROM {tables.stage}")[0][0]
    result.created_accounts = created
    if feed.inserted or feed.updated:
        result.notes.append(f"Updated expansion revenue for {feed.inserted + feed.updated} account-month(s).")
    return result


def _feed_expansion_revenue(tables: Tables, upload_id: int) -> bulk.Written:
    """Sales are upsell and cross-sell: a month's expansion revenue KPI is the trailing
    twelve months of sales as a % of the account's ARR (accounts with ARR only). Sales are
    summed per month once, then a window adds up each month's trailing year."""
    execute(f"""
        CREATE TEMP TABLE ingest_sales_kpis ON COMMIT DROP AS
        WITH touched AS (
            SELECT DISTINCT m.account_id, date_trunc('month', s.date)::date AS period
            FROM {tables.stage} s JOIN {tables.accounts} m ON m.text = s.account
        ), monthly AS (
            SELECT r.account_id, date_trunc('month', r.date)::date AS period, sum(r.total_amount) AS total
            FROM ingest_salesrecord r WHERE r.account_id IN (SELECT account_id FROM touched)
            GROUP BY 1, 2
        ), yearly AS (
            SELECT account_id, period, sum(total) OVER (
                PARTITION BY account_id ORDER BY period RANGE BETWEEN interval '11 months' PRECEDING AND CURRENT ROW
            ) AS total FROM monthly
        )
        SELECT t.account_id, k.id AS kpi_id, t.period, round(100 * t.total / a.revenue, 1)::float8 AS value
        FROM yearly t JOIN touched USING (account_id, period)
        JOIN {bulk.ACCOUNTS} a ON a.id = t.account_id AND a.revenue > 0
        JOIN {bulk.KPIS} k ON k.key = 'expansion_revenue'
    """)
    result = bulk.kpi_values_merge_from("ingest_sales_kpis", f"sales:{upload_id}")
    execute("DROP TABLE ingest_sales_kpis")
    return result


# --- renewal outcomes --------------------------------------------------------------------------


def merge_renewals(tables: Tables, source: str) -> MergeResult:
    """Upsert by (account, renewal_date); a row equal to what is stored is counted unchanged.
    An account whose latest renewal is a churn gets the status churned; nothing of its history
    goes, since later report cards are measured on exactly that history."""
    created = bulk.accounts_create_missing(tables.accounts)
    result = _merge_result(bulk.renewals_upsert_from(tables.stage, tables.accounts, source), tables)
    churned = bulk.accounts_mark_churned(result.touched_account_ids)
    result.created_accounts = created
    if churned:
        result.notes.append(f"Marked {churned} account(s) churned: their latest renewal is a churn.")
    return result
