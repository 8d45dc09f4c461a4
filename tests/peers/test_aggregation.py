"""The nightly publication over real tenant schemas: who contributes, what gets published,
what is withdrawn."""

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from kpis.models import Account
from kpis.services import peer_benchmarks_refresh
from kpis.tasks import peer_benchmarks_publish
from peers.models import ALL_INDUSTRIES, PeerCell
from tenants.services import tenant_peer_benchmarks_set
from tests.peers.conftest import KPI, MONTH, TODAY

pytestmark = pytest.mark.django_db


def software_cell() -> PeerCell:
    return PeerCell.objects.get(industry_key="software", kpi_key=KPI, month=MONTH)


def test_it_publishes_a_cell_of_five_opted_in_tenants_per_industry_and_for_all(five_peers):
    result = peer_benchmarks_refresh(today=TODAY)
    cell = software_cell()
    assert (cell.industry, cell.companies, cell.accounts) == ("Software", 5, 60)
    # Noised and rounded quartiles: the Laplace draw is seeded by the contributors' tenant ids, so
    # it changes with the ids the suite happens to give them (two quartiles even rounded to the same
    # value once). Only what every draw keeps is asserted here; test_publication.py checks the noise.
    assert cell.p25 <= cell.median <= cell.p75
    assert PeerCell.objects.filter(industry_key=ALL_INDUSTRIES, kpi_key=KPI, month=MONTH).exists()
    assert result.published == 2


def test_a_tenant_that_has_not_opted_in_does_not_contribute(five_peers, peer_tenant):
    peer_benchmarks_refresh(today=TODAY)
    before = software_cell()
    peer_tenant("outsider", [1000.0] * 40, opted_in=False)
    peer_benchmarks_refresh(today=TODAY)
    after = software_cell()
    assert (after.companies, after.accounts, after.median, after.p75) == (
        before.companies,
        before.accounts,
        before.median,
        before.p75,
    )


def test_a_cell_is_withdrawn_when_a_tenant_opts_out_and_the_cell_falls_below_five(five_peers):
    peer_benchmarks_refresh(today=TODAY)
    tenant_peer_benchmarks_set(tenant=five_peers[0], enabled=False, changed_by="admin")
    peer_benchmarks_refresh(today=TODAY)
    assert not PeerCell.objects.filter(kpi_key=KPI, month=MONTH).exists()


def test_industries_match_whatever_their_case_and_spacing(five_peers, peer_tenant):
    peer_tenant("spacey", [50.0] * 10, industry="  software ")
    peer_benchmarks_refresh(today=TODAY)
    assert software_cell().companies == 6


def test_churned_accounts_stay_out(five_peers):
    with schema_context("peer0"):
        churned = Account.objects.filter(external_id__in=[f"peer0-{i}" for i in range(6)])
        churned.update(status=Account.Status.CHURNED)
    peer_benchmarks_refresh(today=TODAY)
    assert software_cell().accounts == 50  # 54, rounded to the nearest 10


def test_the_published_store_names_no_tenant(five_peers):
    peer_benchmarks_publish()  # the beat task itself, from the public schema
    columns = {field.name for field in PeerCell._meta.get_fields()}
    assert not {"tenant", "tenant_id", "schema_name"} & columns
    assert connection.schema_name == "public"
