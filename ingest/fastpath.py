"""The fast way in for big CSV files of sales and KPI values: PostgreSQL reads the file and SQL
accepts the plainly valid rows; Python looks only at the rest.

Why: reading and checking a row in Python costs about 30 µs, so a million-row file took a
minute, while PostgreSQL's COPY reads the same file in about a second. So the file is COPied as
text into a raw table, one INSERT … SELECT moves every row that is plainly valid into the
staging table, and only the rows it does not accept (bad ones, and unusual spellings such as
"1,234.50", a padded cell or a KPI key or name in unusual case) go through validation.validate_row, which has
the final word and writes every message.

The SQL rules only ever accept. Each accepts a subset of what validate_row accepts and produces
the same typed values (tests/ingest/test_fastpath.py checks both on edge cases), so a row is
judged the same whichever way it goes; only the time differs.

Line numbers: the raw table numbers rows in file order. They are the lines the user sees only
when every line of the file is one row, so the fast path is taken only then (the header on
line 1, no blank lines, no quoted line breaks: COPY's row count must equal the file's line
count). Any other file, a workbook, an encoding COPY cannot read, or a file COPY refuses (a row
with surplus cells, say) is read by the Python reader as before.
"""

from collections.abc import Iterator
from pathlib import Path

import psycopg
from django.core.cache import cache
from django.db import DataError, connection, transaction

from ingest.loaders import Tables, execute
from ingest.parsers import CsvDialect, Row
from ingest.validation import Context, KpiBounds

FAST_KINDS = ("sales", "kpis")
COPY_ENCODINGS = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "cp1252": "WIN1252"}
LEFTOVER_BATCH = 5_000
PROGRESS_EVERY_BYTES = 8 * 1024 * 1024
CHUNK = 1024 * 1024

# What Python's str.strip() removes: a cell starting or ending with one of these is left to
# validate_row, which strips it (none lies above U+3000; test_fastpath checks against isspace).
PYTHON_SPACES = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
QUANTITY = "'^[0-9]{1,9}$'"  # a whole number that fits PostgreSQL's integer
AMOUNT = r"'^[0-9]{1,12}(\.[0-9]{1,10})?$'"  # below 10^12, as numeric(14, 2) requires
REAL = r"'^-?[0-9]{1,15}(\.[0-9]{1,15})?$'"
DAY = "'^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$'"
MONTH = "'^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$'"


def clean_text(column: str, max_len: int) -> str:
    """SQL: the cell is 1..max_len characters with nothing str.strip() would remove."""
    return f"(length({column}) BETWEEN 1 AND {max_len} AND btrim({column}, %(spaces)s) = {column})"


def empty_or_clean(column: str, max_len: int) -> str:
    return f"({column} IS NULL OR {column} = '' OR {clean_text(column, max_len)})"


def _empty(*columns: str) -> str:
    return " AND ".join(f"coalesce({column}, '') = ''" for column in columns)


def _past_day_29_to_31_of_a_short_month(column: str) -> str:
    """SQL, for text already matching DAY: a 29th-31st the month does not have (2023-02-30)."""
    last_day = f"to_char((left({column}, 8) || '01')::date + interval '1 month - 1 day', 'DD')"
    return f"(right({column}, 2) > '28' AND right({column}, 2) > {last_day})"


# Each rule selects from {raw} what it accepts, with the staging table's columns and types. It is
# one scan that PostgreSQL can split across parallel workers: no join whose size it would have to
# guess. CASE orders the tests, since PostgreSQL may evaluate AND-ed conditions in any order and a
# cast of text that does not look right would fail the statement: a WHEN is evaluated only when
# the ones before it were not true, and the select list only for rows that passed.
ACCEPT_SQL = {
    "sales": f"""
        SELECT r.line, r.account, r.date::date AS date, r.user_id, r.product_name, r.quantity::int AS quantity,
               r.unit_price::numeric AS unit_price, r.total_amount::numeric AS total_amount,
               coalesce(r.region, '') AS region
        FROM {{raw}} r
        WHERE CASE
            WHEN NOT coalesce(r.date ~ {DAY} AND r.quantity ~ {QUANTITY} AND r.unit_price ~ {AMOUNT}
                              AND r.total_amount ~ {AMOUNT}, false) THEN false
            WHEN {_past_day_29_to_31_of_a_short_month("r.date")} THEN false
            ELSE r.date::date <= %(today)s AND r.quantity::int > 0
                 AND r.unit_price::numeric > 0 AND r.total_amount::numeric > 0
                 AND abs(r.total_amount::numeric - r.quantity::int * r.unit_price::numeric) <= 0.01 * r.quantity::int
          END
          AND {clean_text("r.user_id", 64)} AND {clean_text("r.product_name", 200)}
          AND {clean_text("r.account", 200)} AND {empty_or_clean("r.region", 80)}
    """,
    "kpis": f"""
        SELECT r.line, r.account, (%(keys)s::text[])[array_position(%(spellings)s::text[], r.kpi)] AS kpi,
               (left(r.period, 7) || '-01')::date AS period, r.value::float8 AS value
        FROM {{raw}} r
        WHERE CASE
            WHEN NOT coalesce((r.period ~ {MONTH} OR r.period ~ {DAY}) AND r.value ~ {REAL}
                              AND r.kpi = ANY(%(spellings)s::text[]), false) THEN false
            WHEN r.period ~ {DAY} AND {_past_day_29_to_31_of_a_short_month("r.period")} THEN false
            ELSE (left(r.period, 7) || '-01')::date <= date_trunc('month', %(today)s::date)
                 AND r.value::float8 BETWEEN (%(low)s::float8[])[array_position(%(spellings)s::text[], r.kpi)]
                                         AND (%(high)s::float8[])[array_position(%(spellings)s::text[], r.kpi)]
          END
          AND {clean_text("r.account", 200)}
          AND {_empty("r.category", "r.impact_level", "r.weight", "r.frequency")}
    """,
}


class _NotLineForLine(Exception):
    """COPY read a different number of rows than the file has lines."""


def eligible(kind: str, dialect: CsvDialect, header: list[str], account_from_file: str) -> bool:
    # In account_rollup mode an empty account cell takes the file's account: validate_row's job.
    return (
        kind in FAST_KINDS and bool(header) and dialect.encoding in COPY_ENCODINGS and not account_from_file
    )


def copy_raw(
    tables: Tables,
    path: Path,
    dialect: CsvDialect,
    header: list[str],
    fields: tuple[str, ...],
    data_rows: int,
    progress_key: str,
) -> int | None:
    """COPY the file into the raw table (one text column per field, the header's in its order).
    Returns the rows read, or None, leaving nothing behind, when the fast path cannot be used."""
    if not _header_on_first_line(path, dialect):
        return None
    columns = ", ".join(f"{name} text" for name in fields)
    try:
        with transaction.atomic():  # a savepoint: a refused COPY leaves no raw table behind
            execute(
                f"CREATE UNLOGGED TABLE {tables.raw} (line int GENERATED ALWAYS AS IDENTITY (START 2), {columns})"
            )
            copied = _copy_file(tables, path, dialect, header, data_rows, progress_key)
            if copied != data_rows:
                raise _NotLineForLine
    except (_NotLineForLine, DataError, psycopg.errors.DataError):
        return None
    return copied


def _header_on_first_line(path: Path, dialect: CsvDialect) -> bool:
    with open(path, "rb") as handle:
        first = handle.readline(64 * 1024).decode(dialect.encoding, errors="replace")
    return bool(first.replace(dialect.delimiter, "").strip(" \t\r\n\ufeff"))


def _copy_file(
    tables: Tables, path: Path, dialect: CsvDialect, header: list[str], data_rows: int, progress_key: str
) -> int:
    options = "FORMAT csv, HEADER true, DELIMITER %s, ENCODING %s"
    sql = f"COPY {tables.raw} ({', '.join(header)}) FROM STDIN ({options})"
    size, sent, reported = max(path.stat().st_size, 1), 0, 0
    with connection.cursor() as cursor:
        with (
            open(path, "rb") as handle,
            cursor.cursor.copy(sql, (dialect.delimiter, COPY_ENCODINGS[dialect.encoding])) as copy,
        ):
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                copy.write(chunk)
                sent += len(chunk)
                if sent - reported >= PROGRESS_EVERY_BYTES:
                    reported = sent
                    cache.set(progress_key, data_rows * sent // size, 3600)
        return cursor.cursor.rowcount


def accept(tables: Tables, kind: str, context: Context) -> int:
    """Create the staging table from the plainly valid raw rows; returns how many. CREATE TABLE
    AS, unlike INSERT … SELECT, lets PostgreSQL check the rows with parallel workers."""
    spelled = _kpi_spellings_as_typed(context)
    params = {
        "today": context.today,
        "spaces": PYTHON_SPACES,
        "spellings": list(spelled),
        "keys": [bounds.key for bounds in spelled.values()],
        "low": [bounds.min_value for bounds in spelled.values()],
        "high": [bounds.max_value for bounds in spelled.values()],
    }
    select = ACCEPT_SQL[kind].replace("{raw}", tables.raw)  # not format(): the regexes hold braces
    return execute(f"CREATE UNLOGGED TABLE {tables.stage} AS {select}", params)


def _kpi_spellings_as_typed(context: Context) -> dict[str, KpiBounds]:
    """The cells SQL may match exactly, each with its KPI: a KPI's key and display name in lower
    case and as the catalog writes them, when validate_row (which strips the cell, lower-cases it
    and looks it up in context.kpi_spellings) reads them as that same KPI. Other spellings
    ("CHURN rate") are left to validate_row."""
    spelled = {}
    for bounds in context.kpis.values():
        for text in {bounds.key, bounds.key.lower(), bounds.name, bounds.name.lower()}:
            if text and text.strip() == text and context.kpi_spellings.get(text.lower()) == bounds.key:
                spelled[text] = bounds
    return spelled


def leftovers(tables: Tables, fields: tuple[str, ...]) -> Iterator[list[Row]]:
    """The raw rows accept() left, in batches, as the Python reader would give them: cells as
    text ("" for empty) and rows with no text at all skipped."""
    names = ", ".join(f"r.{name}" for name in fields)
    with connection.connection.cursor(name=f"ingest_leftovers_{tables.upload_id}") as cursor:
        cursor.execute(f"""
            SELECT r.line, {names} FROM {tables.raw} r
            WHERE NOT EXISTS (SELECT 1 FROM {tables.stage} s WHERE s.line = r.line) ORDER BY r.line
        """)  # the identifiers are ours, not input
        while batch := cursor.fetchmany(LEFTOVER_BATCH):
            rows = (
                Row(line, dict(zip(fields, (cell or "" for cell in cells), strict=True)))
                for line, *cells in batch
            )
            yield [row for row in rows if any(cell.strip() for cell in row.values.values())]
