"""Load the deterministic demo dataset into the current (demo) tenant's schema."""

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from kpis.demo_data import demo_dataset
from kpis.models import Account, KpiDefinition
from kpis.services import health_refresh


@transaction.atomic
def demo_data_load(today: dt.date | None = None) -> int:
    """25 accounts × 25 KPIs × 18 months with their stories, then their health, insights
    and projections. Returns the number of KPI values loaded."""
    dataset = demo_dataset(today or timezone.localdate())
    accounts = Account.objects.bulk_create(
        Account(external_id=a.external_id, name=a.name, revenue=a.revenue, industry=a.industry, region=a.region,
                status=a.status, renewal_date=a.renewal_date, owner=a.owner)
        for a in dataset.accounts
    )  # fmt: skip
    account_ids = {account.external_id: account.pk for account in accounts}
    kpi_ids = dict(KpiDefinition.objects.values_list("key", "pk"))
    rows = [(account_ids[ext], kpi_ids[key], period, value, 1, True, "demo", timezone.now())
            for ext, key, period, value in dataset.values]  # fmt: skip
    columns = "account_id, kpi_id, period, value, version, is_current, source, created_at"
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY kpis_kpivalue ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
    health_refresh()
    return len(rows)
