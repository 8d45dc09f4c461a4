"""Load the deterministic demo dataset into the current (demo) tenant's schema."""

import datetime as dt
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from kpis.demo_data import demo_dataset
from kpis.models import Account, KpiDefinition, RenewalOutcome
from kpis.renewal_history import Book, book_generate
from kpis.services import health_refresh, report_card_compute

DEMO_BOOK_ACCOUNTS = 150
VALUE_COLUMNS = "account_id, kpi_id, period, value, version, is_current, source, created_at"


@transaction.atomic
def demo_data_load(today: dt.date | None = None) -> int:
    """25 accounts × 25 KPIs × 18 months with their stories, then their health, insights
    and projections. Returns the number of KPI values loaded."""
    dataset = demo_dataset(today or timezone.localdate())
    accounts = Account.objects.bulk_create(
        Account(
            external_id=a.external_id,
            name=a.name,
            revenue=a.revenue,
            industry=a.industry,
            region=a.region,
            status=a.status,
            renewal_date=a.renewal_date,
            owner=a.owner,
        )
        for a in dataset.accounts
    )
    account_ids = {account.external_id: account.pk for account in accounts}
    loaded = _values_copy(account_ids, dataset.values)
    health_refresh()
    return loaded


def _values_copy(account_ids: dict[str, int], values) -> int:
    """COPY (external_id, kpi key, period, value) rows into the KPI series as version 1."""
    kpi_ids = dict(KpiDefinition.objects.values_list("key", "pk"))
    now, loaded = timezone.now(), 0
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY kpis_kpivalue ({VALUE_COLUMNS}) FROM STDIN") as copy,
    ):
        for external_id, key, period, value in values:
            copy.write_row((account_ids[external_id], kpi_ids[key], period, value, 1, True, "demo", now))
            loaded += 1
    return loaded


@transaction.atomic
def renewal_book_load(book: Book) -> list[int]:
    """A generated book (kpis.renewal_history) into the current schema: its accounts, their KPI
    history and their renewal outcomes. Returns the new accounts' ids."""
    accounts = Account.objects.bulk_create(
        Account(
            external_id=a.external_id,
            name=a.name,
            revenue=Decimal(str(a.revenue)),
            industry=a.industry,
            region=a.region,
            status=a.status,
            renewal_date=a.renewal_date,
            owner="",
        )
        for a in book.accounts
    )
    account_ids = {account.external_id: account.pk for account in accounts}
    _values_copy(account_ids, book.value_rows())
    RenewalOutcome.objects.bulk_create(
        RenewalOutcome(
            account_id=account_ids[r.external_id],
            renewal_date=r.renewal_date,
            outcome=r.outcome,
            arr_before=Decimal(str(r.arr_before)),
            arr_after=None if r.arr_after is None else Decimal(str(r.arr_after)),
            source="demo",
        )
        for r in book.renewals
    )
    return list(account_ids.values())


def demo_renewal_history_load(today: dt.date | None = None) -> int:
    """The demo's renewal history: 150 more accounts with three years of KPIs and yearly renewals
    whose outcomes follow their KPIs (with noise), then their health and the report card.
    Returns the number of renewals loaded."""
    book = book_generate(DEMO_BOOK_ACCOUNTS, today or timezone.localdate())
    health_refresh(account_ids=renewal_book_load(book))
    report_card_compute()
    return len(book.renewals)
