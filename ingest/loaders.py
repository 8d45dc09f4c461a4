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


@dataclass
class MergeResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    touched_account_ids: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    newest_date: date | None = None  # of the sales loaded; a sync's cursor moves up to it


@dataclass(frozen=True)
class StageSpec:
    columns: tuple[str, ...]
    ddl: str


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


# --- duplicates inside the file ------------------------------------------------------------------


def reject_duplicates(tables: Tables, kind: str, upload_id: int, room: int) -> int:
    """Rows repeating the natural key of an earlier valid row are rejected, each naming the line
    of the first; at most `room` of them are stored as errors. Returns how many were rejected."""
    key = SPECS[kind].key
    columns = ", ".join(key)
    shown = f"concat_ws(' / ', {', '.join(f'{name}::text' for name in key)})"
    reason = f", which has the same {listing(key, 'and')}; keep only one of the two rows"
    with connection.cursor() as cursor:
        cursor.execute(f"""
            CREATE TEMP TABLE ingest_duplicates ON COMMIT DROP AS
            SELECT line, first, {shown} AS shown FROM (
                SELECT line, {columns}, min(line) OVER (PARTITION BY {columns}) AS first FROM {tables.stage}
            ) keyed WHERE line <> first
        """)  # the identifiers are ours, not input
        cursor.execute(f"""
            INSERT INTO ingest_uploaderror (upload_id, line, field, value, reason)
            SELECT %(upload)s, line, %(field)s,
                   CASE WHEN length(shown) > {ECHO_LIMIT} THEN left(shown, {ECHO_LIMIT - 1}) || '…' ELSE shown END,
                   left('duplicate of line ' || first || %(reason)s, 300)
            FROM ingest_duplicates ORDER BY line LIMIT %(room)s
        """, {"upload": upload_id, "field": ", ".join(key)[:60], "reason": reason, "room": room})  # fmt: skip
        cursor.execute(f"DELETE FROM {tables.stage} s USING ingest_duplicates d WHERE s.line = d.line")
        rejected = cursor.rowcount
        cursor.execute("DROP TABLE ingest_duplicates")
    return rejected


# --- merging -------------------------------------------------------------------------------------


def _merged(dml: str, returning: str, params=None) -> MergeResult:
    """Run an INSERT or UPDATE whose RETURNING gives `account_id` and `is_new` per written row,
    and count in SQL what it wrote, so a million written rows never travel back to Python."""
    inserted, updated, touched = fetch(f"""
        WITH written AS ({dml} RETURNING {returning})
        SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new),
               coalesce(array_agg(DISTINCT account_id), '{{}}') FROM written
    """, params)[0]  # fmt: skip
    return MergeResult(inserted, updated, touched_account_ids=sorted(touched))


def _lock_merges(table: str) -> None:
    """Merges into one table of one tenant run one after the other (until commit), so rows one
    inserts cannot appear under another's NOT EXISTS and fail it on the unique key."""
    execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.' || %s))", [table])


ACCOUNT_FIELDS = ("name", "revenue", "industry", "region", "status", "renewal_date", "owner")


def merge_accounts(tables: Tables) -> MergeResult:
    """Upsert by external_id; a row equal to what is stored is counted unchanged."""
    assignments = ", ".join(f"{f} = EXCLUDED.{f}" for f in ACCOUNT_FIELDS)
    current = ", ".join(f"a.{f}" for f in ACCOUNT_FIELDS)
    incoming = ", ".join(f"EXCLUDED.{f}" for f in ACCOUNT_FIELDS)
    result = _merged(f"""
        INSERT INTO kpis_account AS a (external_id, {", ".join(ACCOUNT_FIELDS)}, created_at, updated_at)
        SELECT external_id, name, coalesce(revenue, 0), coalesce(industry, ''), coalesce(region, ''),
               coalesce(status, 'active'), renewal_date, coalesce(owner, ''), now(), now()
        FROM {tables.stage}
        ON CONFLICT (external_id) DO UPDATE SET {assignments}, updated_at = now()
        WHERE ({current}) IS DISTINCT FROM ({incoming})
    """, "a.id AS account_id, (xmax = 0) AS is_new")  # fmt: skip
    result.unchanged = staged_count(tables) - result.inserted - result.updated
    return result


def resolve_accounts(tables: Tables) -> list[str]:
    """Map every account text of the staged rows to an id: by external id first, then by name;
    accounts not known yet are created (external id and name = the given text), as the
    predecessor did. The map is one row per distinct text, so a million rows cost one pass."""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            CREATE UNLOGGED TABLE {tables.accounts} AS
            SELECT DISTINCT s.account AS text, a.id AS account_id
            FROM {tables.stage} s LEFT JOIN kpis_account a ON a.external_id = s.account
        """)
        cursor.execute(f"""
            UPDATE {tables.accounts} m SET account_id = a.id FROM kpis_account a
            WHERE m.account_id IS NULL AND a.name = m.text
        """)
        cursor.execute(f"""
            INSERT INTO kpis_account (external_id, name, revenue, industry, region, status, owner, created_at, updated_at)
            SELECT text, text, 0, '', '', 'active', '', now(), now() FROM {tables.accounts}
            WHERE account_id IS NULL
            ON CONFLICT (external_id) DO NOTHING
            RETURNING name
        """)
        created = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"""
            UPDATE {tables.accounts} m SET account_id = a.id FROM kpis_account a
            WHERE m.account_id IS NULL AND a.external_id = m.text
        """)
    return created


def _created_note(result: MergeResult, created: list[str]) -> None:
    if created:
        result.notes.append(f"Created {len(created)} account(s) named in the file: {', '.join(created[:5])}")


# --- KPI values --------------------------------------------------------------------------------


def merge_kpi_values(tables: Tables, source: str) -> MergeResult:
    """A new value for an existing account+KPI+month becomes a new version (the old one
    stays, no longer current); the same value again changes nothing."""
    created = resolve_accounts(tables)
    execute(f"""
        CREATE UNLOGGED TABLE {tables.kpi_rows} AS
        SELECT m.account_id, k.id AS kpi_id, s.period, s.value
        FROM {tables.stage} s JOIN {tables.accounts} m ON m.text = s.account JOIN kpis_kpidefinition k ON k.key = s.kpi
    """)  # fmt: skip
    result = merge_values_from(tables.kpi_rows, source)
    result.unchanged = staged_count(tables) - result.inserted - result.updated
    _created_note(result, created)
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
        cursor.execute("""
            SELECT count(*) FILTER (WHERE old_version IS NULL), count(*) FILTER (WHERE old_version IS NOT NULL),
                   coalesce(array_agg(DISTINCT account_id), '{}') FROM ingest_changed
        """)
        inserted, updated, touched = cursor.fetchone()
        cursor.execute("DROP TABLE ingest_changed")
    return MergeResult(inserted, updated, 0, sorted(touched))


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
    created = resolve_accounts(tables)
    _lock_merges("ingest_salesrecord")
    staged = f"{tables.stage} s JOIN {tables.accounts} m ON m.text = s.account"
    fields, values = ", ".join(SALE_VALUES), ", ".join(SALE_VALUES.values())
    changed = _merged(f"""
        UPDATE ingest_salesrecord r SET ({fields}, upload_id, updated_at) = ({values}, %s, now())
        FROM {staged}
        WHERE {SALE_KEY_MATCHES} AND ({", ".join(f"r.{f}" for f in SALE_VALUES)}) IS DISTINCT FROM ({values})
    """, "r.account_id AS account_id, false AS is_new", [upload_id])  # fmt: skip
    added = _merged(f"""
        INSERT INTO ingest_salesrecord (account_id, date, user_id, product_name, {fields}, upload_id, created_at, updated_at)
        SELECT m.account_id, s.date, s.user_id, s.product_name, {values}, %s, now(), now()
        FROM {staged}
        WHERE NOT EXISTS (SELECT 1 FROM ingest_salesrecord r WHERE {SALE_KEY_MATCHES})
    """, "account_id, true AS is_new", [upload_id])  # fmt: skip
    result = MergeResult(added.inserted, changed.updated,
                         touched_account_ids=sorted({*added.touched_account_ids, *changed.touched_account_ids}))  # fmt: skip
    result.unchanged = staged_count(tables) - result.inserted - result.updated
    result.newest_date = fetch(f"SELECT max(date) FROM {tables.stage}")[0][0]
    feed = _feed_expansion_revenue(tables, upload_id)
    result.touched_account_ids = sorted(set(result.touched_account_ids) | set(feed.touched_account_ids))
    _created_note(result, created)
    if feed.inserted or feed.updated:
        result.notes.append(f"Updated expansion revenue for {feed.inserted + feed.updated} account-month(s).")
    return result


def _feed_expansion_revenue(tables: Tables, upload_id: int) -> MergeResult:
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
        JOIN kpis_account a ON a.id = t.account_id AND a.revenue > 0
        JOIN kpis_kpidefinition k ON k.key = 'expansion_revenue'
    """)  # fmt: skip
    result = merge_values_from("ingest_sales_kpis", f"sales:{upload_id}")
    execute("DROP TABLE ingest_sales_kpis")
    return result


# --- renewal outcomes --------------------------------------------------------------------------

RENEWAL_FIELDS = ("outcome", "arr_before", "arr_after")


def merge_renewals(tables: Tables, source: str) -> MergeResult:
    """Upsert by (account, renewal_date); a row equal to what is stored is counted unchanged.
    An account whose latest renewal is a churn gets the status churned; nothing of its history
    goes, since later report cards are measured on exactly that history."""
    created = resolve_accounts(tables)
    assignments = ", ".join(f"{f} = EXCLUDED.{f}" for f in RENEWAL_FIELDS)
    current = ", ".join(f"r.{f}" for f in RENEWAL_FIELDS)
    incoming = ", ".join(f"EXCLUDED.{f}" for f in RENEWAL_FIELDS)
    result = _merged(f"""
        INSERT INTO kpis_renewaloutcome AS r
            (account_id, renewal_date, {", ".join(RENEWAL_FIELDS)}, source, created_at, updated_at)
        SELECT m.account_id, s.renewal_date, s.outcome, s.arr_before, s.arr_after, %s, now(), now()
        FROM {tables.stage} s JOIN {tables.accounts} m ON m.text = s.account
        ON CONFLICT (account_id, renewal_date) DO UPDATE SET {assignments}, source = EXCLUDED.source, updated_at = now()
        WHERE ({current}) IS DISTINCT FROM ({incoming})
    """, "r.account_id AS account_id, (xmax = 0) AS is_new", [source])  # fmt: skip
    result.unchanged = staged_count(tables) - result.inserted - result.updated
    churned = _mark_churned(result.touched_account_ids)
    _created_note(result, created)
    if churned:
        result.notes.append(f"Marked {churned} account(s) churned: their latest renewal is a churn.")
    return result


def _mark_churned(account_ids: list[int]) -> int:
    return execute("""
        UPDATE kpis_account a SET status = 'churned', updated_at = now()
        WHERE a.id = ANY(%s) AND a.status <> 'churned' AND (
            SELECT r.outcome FROM kpis_renewaloutcome r WHERE r.account_id = a.id
            ORDER BY r.renewal_date DESC LIMIT 1
        ) = 'churned'
    """, [account_ids])  # fmt: skip
