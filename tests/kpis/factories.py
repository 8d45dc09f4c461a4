"""Accounts, KPI definitions and KPI values for tests, in the schema the connection is on.

Accounts go through `kpis.services.account_upsert`. KPI values have no single-row service (uploads
and the demo load them in bulk), so their factory and `health_history` write rows directly, as
the demo loader does, and then run the health engine through `health_refresh`.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal

import factory

from kpis.catalog import CatalogKpi
from kpis.demo_data import month_starts
from kpis.models import Account, KpiDefinition, KpiValue
from kpis.services import account_upsert, health_refresh
from tenants.models import Tenant

# The fixed "today" of test data: the factories' and the demo's (tests load it with this date).
TODAY = dt.date(2026, 11, 23)
MONTHS = 18


class AccountFactory(factory.Factory):
    class Meta:
        model = Account

    external_id = factory.Sequence(lambda n: f"ACC-T{n:04d}")
    name = factory.Sequence(lambda n: f"Account {n}")
    revenue = Decimal("100000.00")
    industry = "Software"
    region = "EMEA"
    status = Account.Status.ACTIVE
    renewal_date = factory.LazyFunction(lambda: TODAY + dt.timedelta(days=200))
    owner = "Maya Patel"

    @classmethod
    def _create(cls, model_class, **fields) -> Account:
        return account_upsert(**fields)


class KpiDefinitionFactory(factory.django.DjangoModelFactory):
    """A KPI the tenant added beside the catalog's (there is no create service: the catalog sync
    and the admin's stock form make them). Scores 0 at 0 and 100 at 100."""

    class Meta:
        model = KpiDefinition

    key = factory.Sequence(lambda n: f"custom_kpi_{n}")
    name = factory.Sequence(lambda n: f"Custom KPI {n}")
    category = "Support"
    unit = "%"
    worst, critical, healthy, best = 0.0, 40.0, 70.0, 100.0
    min_value, max_value = 0.0, 100.0


class KpiValueFactory(factory.django.DjangoModelFactory):
    """One current value of one KPI (the catalog's NPS unless told) for the latest demo month."""

    class Meta:
        model = KpiValue

    account = factory.SubFactory(AccountFactory)
    kpi = factory.LazyFunction(lambda: KpiDefinition.objects.get(key="nps"))
    period = factory.LazyFunction(lambda: month_starts(TODAY, 1)[0])
    value = 50.0
    source = "test"


def value_at_score(kpi: KpiDefinition, score: float) -> float:
    """The value of `kpi` that the health engine scores `score` points, within its bounds."""
    as_catalog = CatalogKpi(**{field.name: getattr(kpi, field.name) for field in fields(CatalogKpi)})
    return max(kpi.min_value, min(kpi.max_value, round(as_catalog.value_at_score(score), 2)))


def health_history(account: Account, scores: Sequence[float], *, today: dt.date = TODAY) -> Account:
    """Give `account` one value of every active KPI per month for the len(scores) months before
    `today`'s month, each scoring that month's score, then compute its health, insights and
    projection. A score list that falls makes a declining account; a flat high one a healthy one."""
    kpis = list(KpiDefinition.objects.filter(active=True))
    KpiValue.objects.bulk_create(
        KpiValue(account=account, kpi=kpi, period=period, value=value_at_score(kpi, score), source="test")
        for period, score in zip(month_starts(today, len(scores)), scores, strict=True)
        for kpi in kpis
    )
    health_refresh(account_ids=[account.pk])
    return account


def declining(months: int = MONTHS, start: float = 78.0, end: float = 22.0) -> list[float]:
    """Scores steady at `start`, then falling to `end` over the last two months, as the demo's
    TechCorp does: more than 20 points a month."""
    return [start] * (months - 2) + [(start + end) / 2, end]


@dataclass(frozen=True)
class Portfolio:
    """A tenant's three accounts with MONTHS months of history up to TODAY."""

    tenant: Tenant
    techcorp: Account  # slid from healthy to critical over the last quarter, renews within 90 days
    acme: Account  # steadily healthy
    northwind: Account  # steadily at risk

    @property
    def accounts(self) -> list[Account]:
        return [self.techcorp, self.acme, self.northwind]


def portfolio_build(tenant: Tenant) -> Portfolio:
    """The scenario most health, API and playbook tests need: one account per band, the critical
    one declining. Call it in the tenant's schema."""
    techcorp = AccountFactory(
        name="TechCorp Solutions", revenue=Decimal("900000.00"), renewal_date=TODAY + dt.timedelta(days=60)
    )
    return Portfolio(
        tenant=tenant,
        techcorp=health_history(techcorp, declining(MONTHS)),
        acme=health_history(AccountFactory(name="Acme Corp"), [85.0] * MONTHS),
        northwind=health_history(AccountFactory(name="Northwind Traders"), [55.0] * MONTHS),
    )
