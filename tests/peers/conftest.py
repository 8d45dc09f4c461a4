"""Tenants with accounts in one industry and one month of values of one catalog KPI."""

import datetime as dt

import pytest
from django_tenants.utils import schema_context

from kpis.catalog import DEFAULT_KPIS
from kpis.models import Account, KpiDefinition, KpiValue
from tenants.services import tenant_peer_benchmarks_set
from tests.conftest import make_tenant

# The beat task publishes around the real today, so the data is dated relative to it.
TODAY = dt.date.today()
MONTH = (TODAY.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
KPI = DEFAULT_KPIS[0].key


def accounts_load(
    slug: str, industry: str, values: list[float], month: dt.date = MONTH, kpi: str = KPI
) -> None:
    with schema_context(slug):
        definition = KpiDefinition.objects.get(key=kpi)
        accounts = Account.objects.bulk_create(
            Account(external_id=f"{slug}-{index}", name=f"{slug} customer {index}", industry=industry)
            for index in range(len(values))
        )
        KpiValue.objects.bulk_create(
            KpiValue(account=account, kpi=definition, period=month, value=value)
            for account, value in zip(accounts, values, strict=True)
        )


def peer_tenant_make(slug: str, values: list[float], industry: str = "Software", opted_in: bool = True):
    """A tenant with `len(values)` accounts in `industry`, opted in unless told otherwise."""
    tenant = make_tenant(slug)
    accounts_load(slug, industry, values)
    if opted_in:
        tenant = tenant_peer_benchmarks_set(tenant=tenant, enabled=True, changed_by="admin")
    return tenant


def five_peers_make() -> list:
    """Five opted-in Software tenants of 12 accounts each, values spread from 20 to 80."""
    return [peer_tenant_make(f"peer{i}", [20.0 + 5 * i + 3 * j for j in range(12)]) for i in range(5)]


@pytest.fixture
def peer_tenant(public):
    return peer_tenant_make


@pytest.fixture
def five_peers(public):
    return five_peers_make()
