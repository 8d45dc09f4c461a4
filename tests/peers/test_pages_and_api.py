"""Where peer benchmarks show: the settings page (opt-in), the account page, the dashboard and
GET /api/v1/benchmarks/, each refusing a tenant that has not opted in."""

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from kpis.models import Account
from kpis.services import health_refresh
from peers.models import ALL_INDUSTRIES, PeerCell
from tenants.models import ApiKey, Tenant
from tenants.services import tenant_peer_benchmarks_set
from tests.api.helpers import api, error_of, new_key
from tests.conftest import signed_in_client, tenant_member
from tests.peers.conftest import KPI, MONTH, accounts_load
from users.models import User

pytestmark = pytest.mark.django_db


def published(industry_key: str, industry: str, kpi: str = KPI, median: float = 55.0) -> PeerCell:
    return PeerCell.objects.create(
        industry_key=industry_key,
        industry=industry,
        kpi_key=kpi,
        month=MONTH,
        companies=7,
        accounts=120,
        p25=median - 10,
        median=median,
        p75=median + 10,
        step=1.0,
        published_at=timezone.now(),
    )


def opt_in(tenant: Tenant) -> Tenant:
    return tenant_peer_benchmarks_set(tenant=tenant, enabled=True, changed_by="admin")


@pytest.fixture
def software_account(alice) -> Account:
    accounts_load("alice", "Software", [61.5, 40.0])
    with schema_context("alice"):
        health_refresh()
        return Account.objects.get(external_id="alice-0")


def test_the_settings_page_explains_what_is_shared_and_opts_in(alice):
    client = signed_in_client("alice")
    page = client.get("/settings/peer-benchmarks/").content.decode()
    assert "Only aggregates" in page and "at least 5 companies and 50 accounts" in page
    assert not Tenant.objects.get(pk=alice.pk).peer_benchmarks  # off by default

    client.post("/settings/peer-benchmarks/", {"share": "on"})
    alice.refresh_from_db()
    assert alice.peer_benchmarks and alice.peer_benchmarks_changed_by == "admin"
    client.post("/settings/peer-benchmarks/", {})
    alice.refresh_from_db()
    assert not alice.peer_benchmarks


def test_only_admins_change_the_opt_in(alice):
    tenant_member("alice", "mia", role=User.Role.MANAGER)
    response = signed_in_client("alice", username="mia").post("/settings/peer-benchmarks/", {"share": "on"})
    assert response.status_code == 403
    alice.refresh_from_db()
    assert not alice.peer_benchmarks


def test_the_account_page_shows_peer_quartiles_with_the_companies_behind_them(alice, software_account):
    published("software", "Software", median=55.0)
    opt_in(alice)
    page = signed_in_client("alice").get(f"/accounts/{software_account.pk}/").content.decode()
    section = page.split("<h2>Peer benchmarks: Software</h2>")[1].split("</section>")[0]
    assert "45 / 55 / 65" in section
    assert "median to p75" in section  # 61.5 sits between the median and p75
    assert "7 companies, about 120 accounts" in section
    PeerCell.objects.all().delete()  # the cell fell below the thresholds at the last publication
    page = signed_in_client("alice").get(f"/accounts/{software_account.pk}/").content.decode()
    assert "Not enough peers yet." in page


def test_the_account_page_asks_to_opt_in_and_shows_no_peer_figure_until_then(alice, software_account):
    published("software", "Software", median=55.0)
    page = signed_in_client("alice").get(f"/accounts/{software_account.pk}/").content.decode()
    assert "opt in under Settings" in page
    assert "45 / 55 / 65" not in page


def test_the_shipped_table_is_a_labelled_reference_and_hides_own_quartiles_on_few_accounts(
    alice, software_account
):
    page = signed_in_client("alice").get(f"/accounts/{software_account.pk}/").content.decode()
    assert "Published reference: Software" in page and "not peer data" in page
    assert "fewer than 50 accounts" in page  # alice has 2 Software accounts
    assert "(2 accounts)" not in page


def test_the_dashboard_sets_the_tenants_median_against_all_industries(alice, software_account):
    published(ALL_INDUSTRIES, "All industries", median=55.0)
    opt_in(alice)
    page = signed_in_client("alice").get("/").content.decode()
    section = page.split("Your medians against peers (all industries)")[1].split("</section>")[0]
    assert "50.75" in section  # the median of 61.5 and 40.0
    assert "p25 to median" in section
    assert "Not enough peers yet." in section


def test_the_api_returns_published_cells_and_not_enough_peers(alice):
    published("software", "Software", median=55.0)
    opt_in(alice)
    client = api(new_key(alice, scope=ApiKey.Scope.READ))
    body = client.get("/api/v1/benchmarks/", {"industry": " SOFTWARE ", "kpi": KPI}).json()
    assert body["industry"] == "Software"
    assert body["results"] == [
        {
            "kpi": KPI,
            "status": "published",
            "month": MONTH.isoformat(),
            "companies": 7,
            "accounts": 120,
            "p25": 45.0,
            "median": 55.0,
            "p75": 65.0,
            "step": 1.0,
        }
    ]
    every = client.get("/api/v1/benchmarks/", {"industry": "Software"}).json()["results"]
    assert len(every) == 25 and {row["status"] for row in every} == {"published", "not_enough_peers"}
    other = client.get("/api/v1/benchmarks/", {"kpi": KPI}).json()
    assert other["industry"] == "All industries" and other["results"][0]["status"] == "not_enough_peers"


def test_the_api_refuses_a_tenant_that_has_not_opted_in(alice):
    published("software", "Software")
    response = api(new_key(alice, scope=ApiKey.Scope.READ)).get("/api/v1/benchmarks/")
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "peer_benchmarks_off" and "opt in" in error["message"]


def test_the_api_names_an_unknown_kpi(alice):
    opt_in(alice)
    response = api(new_key(alice, scope=ApiKey.Scope.READ)).get("/api/v1/benchmarks/", {"kpi": "bogus"})
    assert response.status_code == 400
    assert "kpi" in error_of(response)["fields"]
