"""What each kind of upload file looks like: its columns in order with a line on each, and two
example rows. The template download and the Data tab both read it, and a test holds it to the
validator's columns (validation.SPECS), so what a user is shown is what the upload accepts."""

from typing import NamedTuple

OPTIONAL_IGNORED = "optional; read for compatibility with older files, not stored"
ACCOUNT_REF = "the account's external id or name; it must exist unless you tick 'create missing accounts'"

COLUMNS: dict[str, dict[str, str]] = {
    "kpis": {
        "account": ACCOUNT_REF,
        "kpi": "a KPI key or its display name, in any case (the KPI catalog lists them)",
        "period": "the month, YYYY-MM (a date YYYY-MM-DD counts for its month)",
        "value": "a number within the KPI's range (a dot before decimals)",
        "category": OPTIONAL_IGNORED,
        "impact_level": OPTIONAL_IGNORED,
        "weight": OPTIONAL_IGNORED,
        "frequency": OPTIONAL_IGNORED,
    },
    "accounts": {
        "external_id": "your id for the account, unique; a second upload with it updates the account",
        "name": "the account's name",
        "revenue": "optional annual revenue (ARR), e.g. 120000.00",
        "industry": "optional",
        "region": "optional",
        "status": "optional: active (default), onboarding, churned or inactive",
        "renewal_date": "optional, YYYY-MM-DD",
        "owner": "optional: who looks after the account",
    },
    "sales": {
        "date": "the day of the sale, YYYY-MM-DD, not in the future",
        "user_id": "who sold it",
        "product_name": "what was sold",
        "quantity": "a whole number above 0",
        "unit_price": "above 0",
        "total_amount": "quantity × unit_price (within a cent per unit)",
        "region": "optional",
        "account": "the account's external id or name; a new one is created",
    },
    "renewals": {
        "account": ACCOUNT_REF,
        "renewal_date": "YYYY-MM-DD, not in the future",
        "outcome": "renewed, churned, contracted or expanded",
        "arr_before": "ARR before the renewal",
        "arr_after": "optional ARR after it (0 or empty after a churn)",
    },
    "users": {
        "username": "letters, digits and @ . + - _",
        "email": "the user's address",
        "role": "optional: viewer (default), manager or admin",
        "initial_password": "at least 10 characters; changed at first sign-in",
    },
    "documents": {
        "doc_id": "letters, digits, hyphens and underscores, e.g. renewal-policy",
        "title": "optional",
        "content": "the document's text",
    },
}

EXAMPLES: dict[str, tuple[tuple[str, ...], ...]] = {
    "accounts": (
        ("ACME-1", "Acme Corp", "120000.00", "Retail", "EMEA", "active", "2027-03-31", "dana"),
        ("NC-2", "Northwind Co", "48000.00", "Logistics", "NA", "onboarding", "", ""),
    ),
    "sales": (
        ("2026-01-15", "u-17", "Seat licence", "3", "19.99", "59.97", "EMEA", "ACME-1"),
        ("2026-01-20", "u-4", "Support plan", "1", "500.00", "500.00", "", "NC-2"),
    ),
    "renewals": (
        ("ACME-1", "2026-01-31", "renewed", "120000.00", "120000.00"),
        ("NC-2", "2025-12-31", "expanded", "40000.00", "48000.00"),
    ),
    "users": (
        ("dana", "dana@example.com", "manager", "change-me-please-1"),
        ("sam", "sam@example.com", "viewer", "change-me-please-2"),
    ),
    "documents": (
        ("renewal-policy", "Renewal policy", "Start renewal talks 90 days before the date."),
        ("onboarding-checklist", "Onboarding checklist", "Kick-off call, admin training, first QBR."),
    ),
}


class CatalogKpi(NamedTuple):
    key: str
    name: str
    healthy: float  # a value that reads naturally in an example row


def plain_number(value: float) -> str:
    """A number as the upload reads it: a dot before decimals, never an exponent."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def template_rows(kind: str, catalog: list[CatalogKpi]) -> list[tuple[str, ...]]:
    """The header and two example rows. A KPI file's examples name real KPIs of the tenant's
    catalog, one by its key and one by its display name, since both are accepted."""
    header = tuple(COLUMNS[kind])
    if kind != "kpis":
        return [header, *EXAMPLES[kind]]
    rows = [header]
    for kpi, spelling in zip(catalog[:2], ("key", "name"), strict=False):
        rows.append(("ACME-1", getattr(kpi, spelling), "2026-01", plain_number(kpi.healthy), "", "", "", ""))
    return rows
