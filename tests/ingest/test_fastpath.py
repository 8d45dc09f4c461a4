"""The SQL fast path for big CSV files: it only ever accepts rows validate_row accepts, with the
same values; files it cannot read line for line go through the Python reader; either way the
result is the same."""

import sys
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from ingest import fastpath
from ingest.loaders import STAGES, Tables, fetch
from ingest.validation import SPECS, Context, KpiBounds, validate_row
from tests.ingest.conftest import KPI_HEADER, SALES_HEADER
from tests.ingest.test_pipeline import load

TODAY = date(2024, 6, 15)
CTX = Context(
    today=TODAY,
    kpis={
        "nps": KpiBounds("nps", -100, 100, "Net Promoter Score"),
        "csat": KpiBounds("csat", 0, 100, "CSAT"),
        "Odd": KpiBounds("Odd", 0, 1),
        "churn": KpiBounds("churn", 0, 100, "nps"),  # a name spelled like another KPI's key
    },
)
SALE = {
    "date": "2024-05-31",
    "user_id": "u-1",
    "product_name": "Widget",
    "quantity": "3",
    "unit_price": "10.50",
    "total_amount": "31.50",
    "region": "EMEA",
    "account": "ACME-1",
}
KPI = {"account": "ACME-1", "kpi": "nps", "period": "2024-05", "value": "42.5"}

# Cells that are valid, valid but unusual, or invalid, each tried in a copy of a valid row.
SALE_VARIANTS = {
    "date": [
        "2024-02-29",
        "2023-02-29",
        "2023-02-28",
        "2024-04-31",
        "2024-04-30",
        "2024-06-15",
        "2024-06-16",
        "1899-12-31",
        "1900-01-01",
        "2024-5-31",
        "2024-05-31 ",
        "24-05-31",
        "2024/05/31",
        "",
        None,
    ],
    "quantity": [
        "1",
        "0",
        "-1",
        "+2",
        "2.0",
        "1,000",
        "007",
        "999999999",
        "2147483648",
        "1e3",
        " 3",
        "",
        None,
    ],
    "unit_price": [
        "10.5",
        "0",
        "0.00",
        "-10.50",
        "1,234.50",
        "999999999999.99",
        "1000000000000",
        ".5",
        "5.",
        "10.123456789",
        "NaN",
        "",
        None,
    ],
    "total_amount": ["31.49", "31.47", "31.53", "31.54", "31.5", "31.500", "", None],
    "user_id": ["u" * 64, "u" * 65, " u-1", "u-1\u00a0", "u\u00a0b", "Ünïcødé", "\u3000u", "", None],
    "product_name": ["p" * 200, "p" * 201, "Widget\t", "", None],
    "region": ["r" * 80, "r" * 81, "", None, " EMEA"],
    "account": ["a" * 200, "a" * 201, "ACME 1", "", None],
}
KPI_VARIANTS = {
    "kpi": [
        "csat",
        "NPS",
        "Odd",
        "odd",
        "unknown",
        " nps",
        "",
        None,
        "Net Promoter Score",
        "net promoter score",
        "NET PROMOTER SCORE",
        "Net Promoter Score ",
        "Net  Promoter Score",
        "CSAT",
        "Csat",
        "churn",
    ],
    "period": [
        "2024-06",
        "2024-07",
        "2024-06-30",
        "2024-02-29",
        "2023-02-29",
        "2024-13",
        "2024-00",
        "1899-12",
        "2024-6",
        "2024-05-01",
        "",
        None,
    ],
    "value": ["100", "100.0001", "-100", "-101", "0", "-0", "1,000", "+5", "1e2", "3.14159", "", None],
    "account": ["a" * 200, "a" * 201, "ACME-1 ", "", None],
    "category": ["", "Engagement", None],
    "weight": ["", "2"],
}


def rows_of(base: dict, variants: dict) -> list[dict]:
    rows = [dict(base)]
    for column, cells in variants.items():
        rows += [{**base, column: cell} for cell in cells]
    return rows


def accepted(kind: str, rows: list[dict]) -> dict[int, tuple]:
    """Put the rows in a raw table as COPY would, run the rule, return {line: staged row}."""
    tables, fields = Tables(upload_id=987654), tuple(sorted(SPECS[kind].expected))
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE UNLOGGED TABLE {tables.raw} (line int, {', '.join(f'{f} text' for f in fields)})"
        )
        with cursor.cursor.copy(f"COPY {tables.raw} (line, {', '.join(fields)}) FROM STDIN") as copy:
            for line, row in enumerate(rows, start=2):
                copy.write_row([line, *(row.get(field) for field in fields)])
    fastpath.accept(tables, kind, CTX)
    columns = STAGES[kind].columns
    staged = fetch(f"SELECT line, {', '.join(columns)} FROM {tables.stage}")
    tables.drop()
    return {line: dict(zip(columns, values, strict=True)) for line, *values in staged}


@pytest.mark.parametrize(
    ("kind", "base", "variants"), [("sales", SALE, SALE_VARIANTS), ("kpis", KPI, KPI_VARIANTS)]
)
def test_sql_accepts_only_what_validate_row_accepts_with_the_same_values(db, kind, base, variants):
    rows = rows_of(base, variants)
    staged = accepted(kind, rows)

    assert 2 in staged, "the plain valid row must take the fast path"
    for line, row in enumerate(rows, start=2):
        record, errors = validate_row(kind, line, {k: v or "" for k, v in row.items()}, CTX)
        if line in staged:
            assert errors == [], f"SQL accepted line {line} {row} that validate_row rejects: {errors}"
            expected = {column: record[column] for column in STAGES[kind].columns}
            assert staged[line] == expected, f"line {line} {row}"


def test_the_usual_spellings_of_valid_rows_all_take_the_fast_path(db):
    usual = [
        {**SALE, "quantity": "20", "unit_price": "0.99", "total_amount": "19.80", "region": ""},
        {**SALE, "date": "2024-02-29", "region": None, "account": "Ünïcødé GmbH"},
    ]
    assert set(accepted("sales", usual)) == {2, 3}
    kpis = [
        {**KPI, "period": "2024-06-01", "value": "-100"},
        {**KPI, "kpi": "csat", "value": "99.5"},
        {**KPI, "kpi": "Net Promoter Score"},
        {**KPI, "kpi": "net promoter score"},
    ]
    assert set(accepted("kpis", kpis)) == {2, 3, 4, 5}


def test_the_space_list_is_everything_str_strip_removes():
    every = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())
    assert every == fastpath.PYTHON_SPACES


# --- whole files -----------------------------------------------------------------------------


def sales_text(rows: list[str]) -> str:
    return SALES_HEADER + "".join(row + "\n" for row in rows)


MIXED = [
    "2026-10-03,u1,Widget,2,100.00,200.00,EMEA,A1",
    '2026-10-03,u2,Widget,2,"1,000.00","2,000.00",EMEA,A1',  # valid, but for Python only
    "2026-10-04,u1,Widget,3,100.00,250.00,EMEA,A1",  # total ≠ 3 × 100
    "2026-10-03,u1,Widget,2,100.00,200.00,EMEA,A1",  # duplicate of line 2
    "2026-10-05, u3 ,Gadget,1,5,5,,A2",  # padded: Python strips it
    "2026-02-30,u4,Gadget,1,5,5,,A2",  # no such day
    "2026-10-06,u5,,1,5,5,,A2",  # product missing
]


def outcome(tenant, content: bytes, name="sales.csv"):
    upload = load(tenant, content, "sales", name=name)
    with schema_context(tenant.schema_name):
        errors = list(upload.errors.values_list("line", "field", "value", "reason"))
        stored = sorted(
            fetch(
                "SELECT a.external_id, s.date, s.user_id, s.product_name, s.quantity, s.unit_price, s.total_amount,"
                " s.region FROM ingest_salesrecord s JOIN kpis_account a ON a.id = s.account_id"
            )
        )
    return (upload.inserted, upload.updated, upload.unchanged, upload.rejected), errors, stored


@pytest.mark.parametrize("utf16", ["utf-16", "utf-16-le", "utf-16-be"], ids=["bom", "le-no-bom", "be-no-bom"])
def test_a_file_gives_the_same_result_through_sql_as_through_the_python_reader(alice, bob, utf16):
    text = sales_text(MIXED)
    fast = outcome(alice, text.encode())
    python = outcome(bob, text.encode(utf16))  # COPY cannot read UTF-16: the Python reader does

    assert fast == python
    counts, errors, stored = fast
    assert counts == (3, 0, 0, 4)
    assert [(line, field) for line, field, _value, _reason in errors] == [
        (4, "total_amount"),
        (5, "account, date, user_id, product_name"),
        (7, "date"),
        (8, "product_name"),
    ]
    assert (
        "A1",
        date(2026, 10, 3),
        "u2",
        "Widget",
        2,
        Decimal("1000.00"),
        Decimal("2000.00"),
        "EMEA",
    ) in stored
    assert ("A2", date(2026, 10, 5), "u3", "Gadget", 1, Decimal("5.00"), Decimal("5.00"), "") in stored


@pytest.mark.parametrize(
    ("rows", "bad_line", "inserted"),
    [
        ([MIXED[0], "", MIXED[2]], 4, 1),  # a blank line
        ([MIXED[0], '2026-10-03,u9,"Two\nlines",1,5,5,,A1', MIXED[2]], 5, 2),  # a quoted line break
        ([MIXED[0], "2026-10-03,u9,Widget,1,5,5,,A1,surplus", MIXED[2]], 4, 1),  # a cell too many
    ],
    ids=["blank line", "quoted line break", "surplus cell"],
)
def test_files_not_line_for_line_fall_back_and_report_the_lines_the_user_sees(
    alice, rows, bad_line, inserted
):
    counts, errors, _stored = outcome(alice, sales_text(rows).encode())

    assert errors[-1][:2] == (bad_line, "total_amount")
    assert counts[0] == inserted


def test_a_duplicate_names_the_line_and_the_key_it_repeats(alice):
    content = KPI_HEADER + "ACME-1,nps,2026-05,1\nACME-1,nps,2026-04,2\nACME-1,nps,2026-05,3\n"
    upload = load(alice, content, "kpis", create_missing_accounts=True)

    with schema_context("alice"):
        [error] = upload.errors.values_list("line", "field", "value", "reason")
    assert error == (
        4,
        "account, kpi, period",
        "ACME-1 / nps / 2026-05-01",
        "duplicate of line 2, which has the same account, kpi and period; keep only one of the two rows",
    )


def test_only_exact_repeats_of_a_text_key_are_duplicates(alice):
    """The duplicate check compares text byte by byte: case, accents and a different spelling of
    the same letter (é composed or as e + accent) make different keys, as in the unique index."""
    first = "2026-10-03,u1,Café crème,2,100.00,200.00,EMEA,Zoë-1"
    others = ["café crème", "Cafe creme", "Cafe\u0301 cre\u0300me"]
    rows = [first] + [first.replace("Café crème", name) for name in others] + [first]
    counts, errors, _stored = outcome(alice, sales_text(rows).encode())

    assert counts == (4, 0, 0, 1)
    assert [(line, reason.split(",")[0]) for line, _field, _value, reason in errors] == [
        (6, "duplicate of line 2")
    ]


def test_a_single_column_key_reads_naturally(alice):
    row = "casey,casey@example.com,viewer,Temp-pass-123\n"
    upload = load(alice, "username,email,role,initial_password\n" + row + row, "users")

    with schema_context("alice"):
        [reason] = upload.errors.values_list("reason", flat=True)
    assert reason == "duplicate of line 2, which has the same username; keep only one of the two rows"


def test_scratch_tables_are_gone_after_a_load_and_live_in_the_tenants_schema(alice, bob):
    seen = []

    def spy(execute, sql, params, many, context):
        if "CREATE UNLOGGED TABLE" in sql:
            seen.append(connection.schema_name)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        load(alice, sales_text(MIXED).encode(), "sales")
        load(bob, sales_text(MIXED).encode(), "sales")  # the same upload id in another schema

    assert set(seen) == {"alice", "bob"}
    leftovers = fetch(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_name ~ %s",
        [r"^ingest_(raw|stage|accounts|kpirows)_\d+$"],
    )
    assert leftovers == []


def test_a_big_file_is_read_by_copy_not_row_by_row(alice, monkeypatch):
    """The fast path is really taken for an ordinary export (a regression would only be slow)."""
    monkeypatch.setattr(
        "ingest.services.validate_row", lambda *args: pytest.fail(f"validated in Python: {args}")
    )
    rows = [f"2026-10-{1 + i % 28:02d},u{i},Widget,2,10.00,20.00,EMEA,A{i % 7}" for i in range(3000)]
    counts, _errors, stored = outcome(alice, sales_text(rows).encode())

    assert counts == (3000, 0, 0, 0) and len(stored) == 3000
