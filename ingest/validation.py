"""Row validation for uploaded files: one parsed row in, a typed record or a list of errors out.

Why this exists: uploads reach the database through COPY into a staging table and Django's bulk
paths, and neither explains itself. A name one character too long is silently truncated, a
"1.234,50" or an out-of-range number aborts a whole batch with a driver error, and the user learns
nothing useful. So every cell is checked here first, against the same limits the columns have, and
every problem becomes a sentence naming the line, the column, the value and what to do about it.
A row reports all of its problems at once, so a user fixes a file in one round trip, not ten.

Rows are validated one at a time, with no state kept across rows, so a million-row file streams
through in constant memory. Whole-file concerns (the header, duplicates inside the file, resolving
account names to ids, reading the KPI catalog) stay with the caller, which hands over what the rules
need in a Context; large CSV files are checked in SQL first (ingest/fastpath.py), and only the rows
that check does not accept come here. Columns outside a kind's spec are left to the caller's header check and
ignored here. This module imports nothing from Django (users.roles, the rule about giving roles, is plain
Python too), so it is fast to test and cheap to run.
"""

import dataclasses
import re
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from difflib import get_close_matches
from functools import cached_property
from math import isfinite
from typing import NamedTuple

from kpis.knowledge.text import DOC_ID_PATTERN, DOC_ID_RULE
from users.roles import ADMIN, role_grant_refusal

EXTRA = "__extra__"  # where the row parser puts cells beyond the header's columns
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("1000000000000")  # numeric(14, 2) keeps twelve digits before the point
MAX_WHOLE = 2**31 - 1  # PostgreSQL integer
HINTS_KEPT = 10_000  # distinct unknown KPI spellings whose suggestion is remembered
CATALOG_HINT = "use a KPI key or name from the KPI catalog (listed on the Data tab)"
ECHO_LIMIT = 100  # longest value copied into an error; a 1 MB cell must not bloat the report

_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PERIOD = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")
_USERNAME = re.compile(r"[\w.@+-]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    value: str
    reason: str


@dataclass(frozen=True)
class KpiBounds:
    key: str
    min_value: float
    max_value: float
    name: str = ""  # the display name the portal shows; a file may use it in place of the key


@dataclass
class Context:
    today: date
    kpis: dict[str, KpiBounds]
    roles: frozenset = frozenset({"admin", "manager", "viewer"})
    account_from_file: str = ""
    acting_role: str = ADMIN  # who loads the file: its rows may give no role above this one
    _hints: dict[str, str] = dataclasses.field(
        default_factory=dict, init=False, repr=False
    )  # unknown KPI text -> its hint

    @cached_property
    def kpi_spellings(self) -> dict[str, str]:
        return kpi_spellings(self.kpis)


class KindSpec(NamedTuple):
    name: str
    expected: frozenset[str]
    required: frozenset[str]
    key: tuple[str, ...]


class _Invalid(Exception):
    """A cell broke its rule; the message is the reason shown to the user."""


# (column, stripped cell text, context) -> typed value, or raises _Invalid
Parser = Callable[[str, str, Context], object]


@dataclass(frozen=True)
class _Field:
    name: str
    parse: Parser
    required: bool = False
    default: object = ""  # stored when an optional cell is empty
    secret: bool = False  # kept exactly as typed and never echoed into an error
    fallback: Callable[[Context], str] | None = None  # fills an empty cell before the required check


class _Check(NamedTuple):
    """A rule across columns; it runs only once the columns it needs have parsed."""

    reports: str
    needs: tuple[str, ...]
    reason: Callable[[dict, Context], str | None]


class _Kind(NamedTuple):
    fields: tuple[_Field, ...]
    key: tuple[str, ...]
    checks: tuple[_Check, ...] = ()


def listing(words: Iterable[str], last: str) -> str:
    *head, tail = list(words)
    return f"{', '.join(head)} {last} {tail}" if head else tail


def _number(field: str, text: str) -> Decimal:
    if not _NUMBER.fullmatch(text):
        raise _Invalid(
            f"{field} must be a number such as 1234.50 or 1,234.50 "
            "(a dot before decimals, commas only between thousands)"
        )
    return Decimal(text.replace(",", ""))


def _text(max_len: int, pattern: re.Pattern | None = None, rule: str = "") -> Parser:
    def parse(field: str, text: str, ctx: Context) -> str:
        if len(text) > max_len:
            raise _Invalid(f"{field} is {len(text)} characters long; shorten it to at most {max_len}")
        if pattern and not pattern.fullmatch(text):
            raise _Invalid(f"{field} {rule}")
        return text

    return parse


def _pick(field: str, text: str, options: Iterable[str], aliases: dict[str, str]) -> str:
    options = tuple(options)
    word = text.lower()
    word = aliases.get(word, word)
    if word not in options:
        raise _Invalid(f"{field} must be one of {listing(options, 'or')}")
    return word


def _choice(*options: str) -> Parser:
    return lambda field, text, ctx: _pick(field, text, options, {})


def _role(field: str, text: str, ctx: Context) -> str:
    role = _pick(field, text, sorted(ctx.roles), {"user": "viewer"})
    if refusal := role_grant_refusal(role=role, acting_role=ctx.acting_role):
        raise _Invalid(refusal)
    return role


def _amount(*, positive: bool, places: Decimal | None = None) -> Parser:
    def parse(field: str, text: str, ctx: Context) -> Decimal:
        amount = _number(field, text)
        if amount < 0 or (positive and amount == 0):
            raise _Invalid(f"{field} must be {'above 0' if positive else '0 or more'}")
        if amount >= MAX_AMOUNT:
            raise _Invalid(f"{field} must be below {MAX_AMOUNT:,}")
        return amount.quantize(places, ROUND_HALF_UP) if places else amount

    return parse


def _whole_above_zero(field: str, text: str, ctx: Context) -> int:
    amount = Decimal(text.replace(",", "")) if _NUMBER.fullmatch(text) else Decimal(0)
    if amount != amount.to_integral_value() or not 0 < amount <= MAX_WHOLE:
        raise _Invalid(f"{field} must be a whole number above 0 (at most {MAX_WHOLE:,})")
    return int(amount)


def _real(low: float = float("-inf"), high: float = float("inf")) -> Parser:
    def parse(field: str, text: str, ctx: Context) -> float:
        number = float(_number(field, text))
        if not isfinite(number):
            raise _Invalid(f"{field} is too large to store; check the cell for a typo")
        if not low <= number <= high:
            raise _Invalid(f"{field} must be between {low:g} and {high:g}")
        return number

    return parse


def _calendar_date(field: str, text: str) -> date:
    if _DATE.fullmatch(text):
        with suppress(ValueError):
            return date.fromisoformat(text)
    raise _Invalid(f"{field} must be a real date written YYYY-MM-DD, e.g. 2024-03-31")


def _date(*, past_only: bool) -> Parser:
    def parse(field: str, text: str, ctx: Context) -> date:
        day = _calendar_date(field, text)
        if past_only and day > ctx.today:
            raise _Invalid(f"{field} {day} is in the future; use a date up to {ctx.today}")
        return day

    return parse


def _period(field: str, text: str, ctx: Context) -> date:
    match = _PERIOD.fullmatch(text)
    month = None
    if match:
        year, number, day = match.groups()
        with suppress(ValueError):
            month = date(int(year), int(number), int(day or 1)).replace(day=1)
    if month is None:
        raise _Invalid(f"{field} must be a month written YYYY-MM (or a date YYYY-MM-DD), e.g. 2024-03")
    if month > ctx.today.replace(day=1):
        raise _Invalid(f"{field} {month:%Y-%m} is a future month; use {ctx.today:%Y-%m} or earlier")
    return month


def kpi_spellings(kpis: dict[str, KpiBounds]) -> dict[str, str]:
    """Each KPI's display name and key, lower-cased, to its key. A key wins over another KPI's
    name spelled the same, so a file written with keys always means what it says."""
    spellings = {bounds.name.strip().lower(): key for key, bounds in kpis.items() if bounds.name.strip()}
    spellings.update({key.lower(): key for key in kpis})
    return spellings


def _kpi_key(field: str, text: str, ctx: Context) -> str:
    if key := ctx.kpi_spellings.get(text.lower()):
        return key
    hint = ctx._hints.get(text) or _kpi_hint(text, ctx)
    if len(ctx._hints) < HINTS_KEPT:
        ctx._hints[text] = hint
    raise _Invalid(f"unknown KPI '{text}'; {hint}")


def _kpi_hint(text: str, ctx: Context) -> str:
    """The KPI the text most looks like, so a typo or a near-miss name points at the right one."""
    if not ctx.kpis:
        return "the KPI catalog is empty, so add KPIs to it first"
    closest = get_close_matches(text.lower(), ctx.kpi_spellings, n=1, cutoff=0.5)
    if not closest:
        return CATALOG_HINT
    bounds = ctx.kpis[ctx.kpi_spellings[closest[0]]]
    shown = f"'{bounds.name}' (key {bounds.key})" if bounds.name else f"'{bounds.key}'"
    return f"did you mean {shown}? If not, {CATALOG_HINT}"


def _password(field: str, text: str, ctx: Context) -> str:
    if len(text) < 10:
        raise _Invalid(f"{field} is {len(text)} characters long; use at least 10")
    return text


def _value_in_bounds(record: dict, ctx: Context) -> str | None:
    bounds, value = ctx.kpis[record["kpi"]], record["value"]
    if bounds.min_value <= value <= bounds.max_value:
        return None
    return (
        f"value {value:g} is outside what {bounds.key} can be; "
        f"use a number from {bounds.min_value:g} to {bounds.max_value:g}"
    )


def _total_matches(record: dict, ctx: Context) -> str | None:
    quantity, total = record["quantity"], record["total_amount"]
    expected = quantity * record["unit_price"]
    slack = CENT * quantity
    if abs(total - expected) <= slack:
        return None
    return (
        f"total_amount {total} does not match quantity × unit_price = {expected}; "
        f"it may differ by at most 1 cent per unit ({slack} here), so correct one of the three"
    )


def _arr_after_fits_outcome(record: dict, ctx: Context) -> str | None:
    """ARR after must say what the outcome says: none left after a churn, less after a
    contraction, more after an expansion."""
    outcome, before, after = record["outcome"], record["arr_before"], record["arr_after"]
    if after is None:
        return None
    if outcome == "churned" and after != 0:
        return f"arr_after {after} contradicts outcome churned; leave it empty or write 0"
    if outcome == "contracted" and after >= before:
        return f"arr_after {after} is not below arr_before {before}, so this is not a contraction; fix one of them"
    if outcome == "expanded" and after <= before:
        return f"arr_after {after} is not above arr_before {before}, so this is not an expansion; fix one of them"
    return None


_KINDS: dict[str, _Kind] = {
    "kpis": _Kind(
        fields=(
            _Field("account", _text(200), required=True, fallback=lambda ctx: ctx.account_from_file),
            _Field("kpi", _kpi_key, required=True),
            _Field("period", _period, required=True),
            _Field("value", _real(), required=True),
            _Field("category", _text(40)),
            _Field("impact_level", _choice("high", "medium", "low")),
            _Field("weight", _real(0, 10), default=None),
            _Field("frequency", _text(20)),
        ),
        key=("account", "kpi", "period"),
        checks=(_Check("value", ("kpi", "value"), _value_in_bounds),),
    ),
    "accounts": _Kind(
        fields=(
            _Field("external_id", _text(64), required=True),
            _Field("name", _text(200), required=True),
            _Field("revenue", _amount(positive=False, places=CENT), default=None),
            _Field("industry", _text(80)),
            _Field("region", _text(80)),
            _Field("status", _choice("active", "onboarding", "churned", "inactive"), default="active"),
            _Field("renewal_date", _date(past_only=False), default=None),
            _Field("owner", _text(150)),
        ),
        key=("external_id",),
    ),
    "sales": _Kind(
        fields=(
            _Field("date", _date(past_only=True), required=True),
            _Field("user_id", _text(64), required=True),
            _Field("product_name", _text(200), required=True),
            _Field("quantity", _whole_above_zero, required=True),
            _Field("unit_price", _amount(positive=True), required=True),
            _Field("total_amount", _amount(positive=True), required=True),
            _Field("region", _text(80)),
            _Field("account", _text(200), required=True),
        ),
        key=("account", "date", "user_id", "product_name"),
        checks=(_Check("total_amount", ("quantity", "unit_price", "total_amount"), _total_matches),),
    ),
    "renewals": _Kind(
        fields=(
            _Field("account", _text(200), required=True),
            _Field("renewal_date", _date(past_only=True), required=True),
            _Field("outcome", _choice("renewed", "churned", "contracted", "expanded"), required=True),
            _Field("arr_before", _amount(positive=False, places=CENT), required=True),
            _Field("arr_after", _amount(positive=False, places=CENT), default=None),
        ),
        key=("account", "renewal_date"),
        checks=(_Check("arr_after", ("outcome", "arr_before", "arr_after"), _arr_after_fits_outcome),),
    ),
    "users": _Kind(
        fields=(
            _Field(
                "username",
                _text(150, _USERNAME, "may only contain letters, digits and the characters @ . + - _"),
                required=True,
            ),
            _Field("email", _text(254, _EMAIL, "must be an address like name@example.com"), required=True),
            _Field("role", _role, default="viewer"),
            _Field("initial_password", _password, required=True, secret=True),
        ),
        key=("username",),
    ),
    # The CSV form of knowledge-base documents (the template's header); ingest.documents reads such
    # files and the document service checks each document.
    "documents": _Kind(
        fields=(
            _Field("doc_id", _text(100, DOC_ID_PATTERN, DOC_ID_RULE), required=True),
            _Field("title", _text(300)),
            _Field("content", _text(200_000), required=True),
        ),
        key=("doc_id",),
    ),
}

SPECS: dict[str, KindSpec] = {
    name: KindSpec(
        name=name,
        expected=frozenset(f.name for f in kind.fields),
        required=frozenset(f.name for f in kind.fields if f.required),
        key=kind.key,
    )
    for name, kind in _KINDS.items()
}


def _echo(value: str) -> str:
    return value if len(value) <= ECHO_LIMIT else value[: ECHO_LIMIT - 1] + "…"


def _clean_cell(field: _Field, raw: str, ctx: Context) -> object:
    text = raw if field.secret else raw.strip()
    if not text.strip():
        text = field.fallback(ctx).strip() if field.fallback else ""
    if text:
        return field.parse(field.name, text, ctx)
    if field.required:
        raise _Invalid(f"{field.name} is required but this cell is empty; fill it in")
    return field.default


def _extra_cells_error(line: int, extra: str | list[str]) -> RowError:
    shown = extra if isinstance(extra, str) else ",".join(extra)
    return RowError(
        line,
        EXTRA,
        _echo(shown),
        "this row has more cells than the header has columns; "
        "remove the surplus cells or quote values that contain commas",
    )


def validate_row(
    kind: str, line: int, values: dict[str, str], ctx: Context
) -> tuple[dict | None, list[RowError]]:
    """Return (record, []) for a clean row, else (None, every problem the row has)."""
    spec = _KINDS[kind]
    record: dict = {}
    errors = [_extra_cells_error(line, values[EXTRA])] if values.get(EXTRA) else []
    for field in spec.fields:
        raw = values.get(field.name) or ""
        try:
            record[field.name] = _clean_cell(field, raw, ctx)
        except _Invalid as exc:
            errors.append(RowError(line, field.name, "(hidden)" if field.secret else _echo(raw), str(exc)))
    for check in spec.checks:
        if all(name in record for name in check.needs) and (reason := check.reason(record, ctx)):
            errors.append(RowError(line, check.reports, _echo(values.get(check.reports) or ""), reason))
    return (None, errors) if errors else (record, [])
