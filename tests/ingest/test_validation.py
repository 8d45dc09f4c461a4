"""Row validation of uploads, without a database: every rule, its boundary and its message."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from ingest.validation import (
    EXTRA,
    SPECS,
    Context,
    KpiBounds,
    RowError,
    validate_row,
)

CTX = Context(
    today=date(2024, 6, 15),
    kpis={
        "active_user_ratio": KpiBounds("active_user_ratio", 0, 100, "Active User Ratio"),
        "nps": KpiBounds("nps", -100, 100, "Net Promoter Score"),
    },
)

VALID = {
    "kpis": {
        "account": "ACME-1",
        "kpi": "nps",
        "period": "2024-05",
        "value": "42.5",
        "category": "Sentiment",
        "impact_level": "High",
        "weight": "2.5",
        "frequency": "monthly",
    },
    "accounts": {
        "external_id": "ACME-1",
        "name": "Acme Corp",
        "revenue": "1,234.50",
        "industry": "Retail",
        "region": "EMEA",
        "status": "Onboarding",
        "renewal_date": "2025-01-31",
        "owner": "Dana",
    },
    "sales": {
        "date": "2024-06-01",
        "user_id": "u-17",
        "product_name": "Seat licence",
        "quantity": "3",
        "unit_price": "19.99",
        "total_amount": "59.97",
        "region": "EMEA",
        "account": "Acme Corp",
    },
    "users": {
        "username": "dana.k@acme",
        "email": "dana@acme.example.com",
        "role": "Manager",
        "initial_password": "correct-horse-42",
    },
    "renewals": {
        "account": "ACME-1",
        "renewal_date": "2024-03-31",
        "outcome": "Contracted",
        "arr_before": "1,200.00",
        "arr_after": "900",
    },
    "documents": {
        "doc_id": "renewal-policy",
        "title": " Renewal policy ",
        "content": "Notice is due 60 days ahead.",
    },
}

CLEAN = {
    "kpis": {
        "account": "ACME-1",
        "kpi": "nps",
        "period": date(2024, 5, 1),
        "value": 42.5,
        "category": "Sentiment",
        "impact_level": "high",
        "weight": 2.5,
        "frequency": "monthly",
    },
    "accounts": {
        "external_id": "ACME-1",
        "name": "Acme Corp",
        "revenue": Decimal("1234.50"),
        "industry": "Retail",
        "region": "EMEA",
        "status": "onboarding",
        "renewal_date": date(2025, 1, 31),
        "owner": "Dana",
    },
    "sales": {
        "date": date(2024, 6, 1),
        "user_id": "u-17",
        "product_name": "Seat licence",
        "quantity": 3,
        "unit_price": Decimal("19.99"),
        "total_amount": Decimal("59.97"),
        "region": "EMEA",
        "account": "Acme Corp",
    },
    "renewals": {
        "account": "ACME-1",
        "renewal_date": date(2024, 3, 31),
        "outcome": "contracted",
        "arr_before": Decimal("1200.00"),
        "arr_after": Decimal("900.00"),
    },
    "users": {
        "username": "dana.k@acme",
        "email": "dana@acme.example.com",
        "role": "manager",
        "initial_password": "correct-horse-42",
    },
    "documents": {
        "doc_id": "renewal-policy",
        "title": "Renewal policy",
        "content": "Notice is due 60 days ahead.",
    },
}


def clean(kind: str, ctx: Context = CTX, **cells: str) -> dict:
    record, errors = validate_row(kind, 7, {**VALID[kind], **cells}, ctx)
    assert errors == []
    return record


def reasons(kind: str, ctx: Context = CTX, **cells: str) -> dict[str, str]:
    record, errors = validate_row(kind, 7, {**VALID[kind], **cells}, ctx)
    assert record is None
    assert all(error.line == 7 for error in errors)
    return {error.field: error.reason for error in errors}


@pytest.mark.parametrize("kind", sorted(VALID))
def test_a_valid_row_becomes_a_typed_record_keyed_by_its_columns(kind):
    record = clean(kind)
    assert record == CLEAN[kind]
    assert set(record) == SPECS[kind].expected


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_specs_are_consistent(kind):
    spec = SPECS[kind]
    assert spec.name == kind
    assert spec.required <= spec.expected
    assert set(spec.key) <= spec.required


@pytest.mark.parametrize(
    ("kind", "column"), [(kind, column) for kind in sorted(SPECS) for column in sorted(SPECS[kind].required)]
)
@pytest.mark.parametrize("blank", ["", "   ", None])
def test_a_required_cell_cannot_be_empty(kind, column, blank):
    assert reasons(kind, **{column: blank}) == {
        column: f"{column} is required but this cell is empty; fill it in"
    }


def test_a_required_column_missing_from_the_row_is_reported():
    values = {k: v for k, v in VALID["users"].items() if k != "email"}
    record, errors = validate_row("users", 3, values, CTX)
    assert record is None
    assert [(e.field, e.value) for e in errors] == [("email", "")]


@pytest.mark.parametrize(
    ("kind", "column", "default"),
    [
        ("kpis", "category", ""),
        ("kpis", "impact_level", ""),
        ("kpis", "weight", None),
        ("kpis", "frequency", ""),
        ("accounts", "revenue", None),
        ("accounts", "industry", ""),
        ("accounts", "region", ""),
        ("accounts", "status", "active"),
        ("accounts", "renewal_date", None),
        ("accounts", "owner", ""),
        ("sales", "region", ""),
        ("users", "role", "viewer"),
    ],
)
def test_an_empty_optional_cell_takes_its_default(kind, column, default):
    assert clean(kind, **{column: ""})[column] == default


@pytest.mark.parametrize(
    ("kind", "column", "limit"),
    [
        ("kpis", "account", 200),
        ("kpis", "category", 40),
        ("kpis", "frequency", 20),
        ("accounts", "external_id", 64),
        ("accounts", "name", 200),
        ("accounts", "industry", 80),
        ("accounts", "region", 80),
        ("accounts", "owner", 150),
        ("sales", "user_id", 64),
        ("sales", "product_name", 200),
        ("sales", "region", 80),
        ("sales", "account", 200),
        ("users", "username", 150),
    ],
)
def test_text_fits_its_column_exactly(kind, column, limit):
    assert clean(kind, **{column: "x" * limit})[column] == "x" * limit
    assert reasons(kind, **{column: "x" * (limit + 1)}) == {
        column: f"{column} is {limit + 1} characters long; shorten it to at most {limit}"
    }


def test_an_email_fits_its_column_exactly():
    at_limit = "a" * 240 + "@example.com"  # 252
    assert clean("users", email=at_limit + "xx")["email"] == at_limit + "xx"
    assert "shorten it to at most 254" in reasons("users", email=at_limit + "xxx")["email"]


def test_cells_are_trimmed():
    assert clean("accounts", name="  Acme Corp \t")["name"] == "Acme Corp"


@pytest.mark.parametrize(
    ("kind", "column", "bad", "reason"),
    [
        ("kpis", "value", "abc", "value must be a number such as 1234.50 or 1,234.50"),
        ("kpis", "value", "nan", "value must be a number"),
        ("kpis", "value", "9" * 400, "value is too large to store; check the cell for a typo"),
        ("kpis", "impact_level", "severe", "impact_level must be one of high, medium or low"),
        ("kpis", "weight", "10.5", "weight must be between 0 and 10"),
        ("kpis", "weight", "-1", "weight must be between 0 and 10"),
        ("kpis", "period", "May 2024", "period must be a month written YYYY-MM (or a date YYYY-MM-DD)"),
        ("kpis", "period", "2024-13", "period must be a month written YYYY-MM"),
        ("kpis", "period", "2024-02-30", "period must be a month written YYYY-MM"),
        ("accounts", "revenue", "-1", "revenue must be 0 or more"),
        ("accounts", "revenue", "1.234,50", "revenue must be a number such as 1234.50 or 1,234.50"),
        ("accounts", "revenue", "1,23", "revenue must be a number"),
        ("accounts", "revenue", "1000000000000", "revenue must be below 1,000,000,000,000"),
        ("accounts", "status", "gone", "status must be one of active, onboarding, churned or inactive"),
        ("accounts", "renewal_date", "31/01/2025", "renewal_date must be a real date written YYYY-MM-DD"),
        ("accounts", "renewal_date", "2025-02-29", "renewal_date must be a real date written YYYY-MM-DD"),
        ("accounts", "renewal_date", "20250131", "renewal_date must be a real date written YYYY-MM-DD"),
        ("sales", "quantity", "0", "quantity must be a whole number above 0"),
        ("sales", "quantity", "-2", "quantity must be a whole number above 0"),
        ("sales", "quantity", "2.5", "quantity must be a whole number above 0"),
        ("sales", "quantity", "three", "quantity must be a whole number above 0"),
        (
            "sales",
            "quantity",
            "3000000000",
            "quantity must be a whole number above 0 (at most 2,147,483,647)",
        ),
        ("sales", "unit_price", "0", "unit_price must be above 0"),
        ("sales", "unit_price", "-19.99", "unit_price must be above 0"),
        ("sales", "unit_price", "€19.99", "unit_price must be a number"),
        ("sales", "date", "2024/06/01", "date must be a real date written YYYY-MM-DD"),
        (
            "users",
            "username",
            "dana k",
            "username may only contain letters, digits and the characters @ . + - _",
        ),
        ("users", "username", "dana!", "username may only contain letters, digits"),
        ("users", "email", "dana.example.com", "email must be an address like name@example.com"),
        ("users", "email", "dana@example", "email must be an address like name@example.com"),
        ("users", "email", "da na@example.com", "email must be an address like name@example.com"),
        ("users", "role", "owner", "role must be one of admin, manager or viewer"),
        ("users", "initial_password", "short-pw1", "initial_password is 9 characters long; use at least 10"),
    ],
)
def test_a_bad_cell_is_reported_with_a_reason(kind, column, bad, reason):
    record, errors = validate_row(kind, 9, {**VALID[kind], column: bad}, CTX)
    assert record is None
    [error] = errors
    assert (error.line, error.field) == (9, column)
    assert error.reason.startswith(reason)
    assert error.value == ("(hidden)" if column == "initial_password" else bad[:99] + "…" * (len(bad) > 100))


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1,234.50", "1234.50"),
        ("1234.5", "1234.50"),
        ("1,234,567", "1234567.00"),
        ("0", "0.00"),
        ("0.005", "0.01"),
    ],
)
def test_revenue_accepts_thousands_separators_and_keeps_cents(text, number):
    revenue = clean("accounts", revenue=text)["revenue"]
    assert revenue == Decimal(number)
    assert revenue.as_tuple().exponent == -2


def test_other_numbers_accept_thousands_separators_too():
    assert clean("sales", quantity="1,000", unit_price="1.00", total_amount="1,000.00")["quantity"] == 1000
    assert clean("sales", quantity="3.0")["quantity"] == 3
    assert clean("kpis", value="-15")["value"] == -15.0
    assert clean("kpis", kpi="active_user_ratio", value="+0.5")["value"] == 0.5


@pytest.mark.parametrize(
    ("text", "period"),
    [("2024-03", date(2024, 3, 1)), ("2024-03-17", date(2024, 3, 1)), ("2024-06", date(2024, 6, 1))],
)
def test_a_period_is_a_month_or_a_date_and_becomes_the_first_of_the_month(text, period):
    assert clean("kpis", period=text)["period"] == period


def test_a_period_may_not_be_a_future_month():
    assert reasons("kpis", period="2024-07-01") == {
        "period": "period 2024-07 is a future month; use 2024-06 or earlier"
    }


def test_a_sale_may_be_dated_today_but_not_tomorrow():
    assert clean("sales", date="2024-06-15")["date"] == date(2024, 6, 15)
    assert reasons("sales", date="2024-06-16") == {
        "date": "date 2024-06-16 is in the future; use a date up to 2024-06-15"
    }


def test_a_renewal_date_may_be_in_the_future():
    assert clean("accounts", renewal_date="2030-12-31")["renewal_date"] == date(2030, 12, 31)


@pytest.mark.parametrize("total", ["101.00", "99.00", "100.00", "100.5"])
def test_a_total_may_differ_by_up_to_one_cent_per_unit(total):
    assert clean("sales", quantity="100", unit_price="1.00", total_amount=total)["total_amount"] == Decimal(
        total
    )


@pytest.mark.parametrize("total", ["101.01", "98.99"])
def test_a_total_off_by_more_than_one_cent_per_unit_is_rejected(total):
    assert reasons("sales", quantity="100", unit_price="1.00", total_amount=total) == {
        "total_amount": f"total_amount {total} does not match quantity × unit_price = 100.00; "
        "it may differ by at most 1 cent per unit (1.00 here), so correct one of the three"
    }


def test_the_total_is_not_compared_when_an_operand_is_invalid():
    assert reasons("sales", quantity="x", total_amount="5") == {
        "quantity": "quantity must be a whole number above 0 (at most 2,147,483,647)"
    }


def test_an_unknown_kpi_with_nothing_like_it_points_at_the_catalog():
    assert reasons("kpis", kpi="x") == {
        "kpi": "unknown KPI 'x'; use a KPI key or name from the KPI catalog (listed on the Data tab)"
    }


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("Net Promotor Score", "'Net Promoter Score' (key nps)"),
        ("active_users_ratio", "'Active User Ratio' (key active_user_ratio)"),
        ("Active user ratios", "'Active User Ratio' (key active_user_ratio)"),
    ],
)
def test_an_unknown_kpi_suggests_the_closest_key_or_name(typed, meant):
    assert reasons("kpis", kpi=typed) == {
        "kpi": f"unknown KPI '{typed}'; did you mean {meant}? "
        "If not, use a KPI key or name from the KPI catalog (listed on the Data tab)"
    }


def test_an_unknown_kpi_against_an_empty_catalog_says_so():
    reason = reasons("kpis", replace(CTX, kpis={}), kpi="nps")["kpi"]
    assert reason == "unknown KPI 'nps'; the KPI catalog is empty, so add KPIs to it first"


@pytest.mark.parametrize("typed", ["Net Promoter Score", "net promoter score", "NET PROMOTER SCORE", " NPS "])
def test_a_kpi_may_be_named_by_its_display_name_or_key_in_any_case(typed):
    record, errors = validate_row("kpis", 2, {**VALID["kpis"], "kpi": typed}, CTX)
    assert errors == [] and record["kpi"] == "nps"


def test_a_key_wins_over_another_kpis_name_spelled_the_same():
    kpis = {**CTX.kpis, "churn": KpiBounds("churn", 0, 100, "NPS")}
    record, _ = validate_row("kpis", 2, {**VALID["kpis"], "kpi": "nps"}, replace(CTX, kpis=kpis))
    assert record["kpi"] == "nps"


def test_kpi_keys_are_case_insensitive():
    assert clean("kpis", kpi="NPS")["kpi"] == "nps"


@pytest.mark.parametrize("value", ["-100", "100", "0"])
def test_a_kpi_value_at_its_bounds_is_accepted(value):
    assert clean("kpis", value=value)["value"] == float(value)


@pytest.mark.parametrize("value", ["-100.5", "101"])
def test_a_kpi_value_outside_its_bounds_names_them(value):
    assert reasons("kpis", value=value) == {
        "value": f"value {float(value):g} is outside what nps can be; use a number from -100 to 100"
    }


ROLLUP = replace(CTX, account_from_file="Acme Corp")


def test_rollup_mode_takes_the_account_from_the_file_when_the_column_is_absent():
    values = {k: v for k, v in VALID["kpis"].items() if k != "account"}
    record, errors = validate_row("kpis", 2, values, ROLLUP)
    assert errors == []
    assert record["account"] == "Acme Corp"


def test_rollup_mode_takes_the_account_from_the_file_when_the_cell_is_empty():
    assert clean("kpis", ROLLUP, account=" ")["account"] == "Acme Corp"


def test_rollup_mode_keeps_an_account_the_row_names():
    assert clean("kpis", ROLLUP, account="Globex")["account"] == "Globex"


def test_without_an_account_in_the_row_or_the_file_the_row_fails():
    assert reasons("kpis", replace(CTX, account_from_file=""), account="") == {
        "account": "account is required but this cell is empty; fill it in"
    }


@pytest.mark.parametrize("role", ["user", "USER", "Viewer"])
def test_the_predecessors_user_role_is_a_viewer(role):
    assert clean("users", role=role)["role"] == "viewer"


def test_roles_come_from_the_context():
    ctx = replace(CTX, roles=frozenset({"admin", "viewer"}))
    assert clean("users", ctx, role="ADMIN")["role"] == "admin"
    assert reasons("users", ctx, role="manager") == {"role": "role must be one of admin or viewer"}


def test_a_role_above_the_importers_own_is_rejected_naming_the_rule():
    ctx = replace(CTX, acting_role="manager")
    assert clean("users", ctx, role="Manager")["role"] == "manager"
    assert clean("users", ctx, role="viewer")["role"] == "viewer"
    assert reasons("users", ctx, role="admin") == {
        "role": "role admin is above your own role manager; nobody can give a role above their own, "
        "so choose manager or viewer, or ask someone with the admin role to do it"
    }
    assert set(reasons("users", replace(CTX, acting_role="viewer"), role="manager")) == {"role"}


def test_a_password_is_kept_as_typed_and_never_echoed():
    assert clean("users", initial_password=" spaced out ")["initial_password"] == " spaced out "
    record, [error] = validate_row("users", 4, {**VALID["users"], "initial_password": "hunter2"}, CTX)
    assert error.value == "(hidden)"
    assert "hunter2" not in error.reason


def test_unicode_letters_are_allowed_in_usernames():
    assert clean("users", username="zoë_müller+1")["username"] == "zoë_müller+1"


@pytest.mark.parametrize("extra", ["oops", ["oops", "again"]])
def test_extra_cells_fail_the_row(extra):
    record, errors = validate_row("accounts", 5, {**VALID["accounts"], EXTRA: extra}, CTX)
    assert record is None
    assert [e.field for e in errors] == [EXTRA]
    assert errors[0].reason.startswith("this row has more cells than the header has columns")
    assert errors[0].value in {"oops", "oops,again"}


def test_an_empty_extra_cell_list_is_no_error():
    assert validate_row("accounts", 5, {**VALID["accounts"], EXTRA: []}, CTX)[1] == []


def test_columns_outside_the_spec_are_ignored():
    assert clean("users", nickname="dk") == CLEAN["users"]


def test_every_problem_of_a_row_is_reported_at_once():
    bad = {
        EXTRA: "surplus",
        "date": "tomorrow",
        "user_id": "",
        "product_name": "p" * 201,
        "quantity": "0",
        "unit_price": "abc",
        "total_amount": "-1",
        "region": "r" * 81,
        "account": "",
    }
    record, errors = validate_row("sales", 11, bad, CTX)
    assert record is None
    assert [e.field for e in errors] == [
        EXTRA,
        "date",
        "user_id",
        "product_name",
        "quantity",
        "unit_price",
        "total_amount",
        "region",
        "account",
    ]
    assert all(isinstance(e, RowError) and e.line == 11 and e.reason for e in errors)


def test_the_kpi_bounds_check_still_runs_when_other_cells_fail():
    assert set(reasons("kpis", value="500", weight="11", period="x")) == {"value", "weight", "period"}


def test_a_long_value_is_shortened_in_the_error():
    [error] = validate_row("accounts", 2, {**VALID["accounts"], "name": "n" * 5000}, CTX)[1]
    assert len(error.value) == 100
    assert error.value.endswith("…")
