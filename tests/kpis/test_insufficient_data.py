"""A score resting on less than half the model's weight reads "insufficient data", not a band,
on every page that shows scores and in the API; the stored band stays as computed."""

import pytest
from django_tenants.utils import schema_context

from kpis.models import MIN_COVERAGE, Account, HealthSnapshot
from kpis.selectors import health_model_current
from tests.api.helpers import api, new_key
from tests.conftest import signed_in_client
from tests.ingest.conftest import KPI_HEADER
from tests.ingest.test_pipeline import load


def scored(external_id: str, coverage: float, score: float = 82.0) -> Account:
    account = Account.objects.create(external_id=external_id, name=f"Account {external_id}")
    HealthSnapshot.objects.create(
        account=account,
        period="2026-10-01",
        model_version=health_model_current().version,
        score=score,
        band="healthy",
        coverage=coverage,
    )
    return account


@pytest.fixture
def thin_and_full(alice):
    with schema_context("alice"):
        return scored("THIN-1", coverage=MIN_COVERAGE - 0.1), scored("FULL-1", coverage=MIN_COVERAGE)


def test_one_kpi_for_a_new_account_gives_a_score_the_api_flags_as_insufficient(alice):
    load(alice, KPI_HEADER + "NC-999,nps,2026-10,60\n", "kpis", create_missing_accounts=True)

    [account] = api(new_key(alice)).get("/api/v1/accounts/").json()["results"]
    assert account["external_id"] == "NC-999" and account["score"] is not None
    assert account["insufficient_data"] is True and account["band"]  # the band is kept


def test_the_api_flags_only_scores_under_half_the_weight(alice, thin_and_full):
    thin, _ = thin_and_full
    client = api(new_key(alice))
    flags = {
        a["external_id"]: a["insufficient_data"] for a in client.get("/api/v1/accounts/").json()["results"]
    }
    assert flags == {"THIN-1": True, "FULL-1": False}
    assert client.get(f"/api/v1/accounts/{thin.pk}/").json()["insufficient_data"] is True
    [snapshot] = client.get(f"/api/v1/accounts/{thin.pk}/health/").json()
    assert snapshot["insufficient_data"] is True and snapshot["band"] == "healthy"


def row_of(page: str, name: str) -> str:
    """The table row or list item that names the account."""
    start = page.index(name)
    return page[
        start : min(end for end in (page.find("</tr>", start), page.find("</li>", start)) if end != -1)
    ]


def test_the_accounts_list_and_dashboard_show_insufficient_data_not_a_band(thin_and_full):
    client = signed_in_client("alice")
    for url in ("/accounts/", "/"):
        page = client.get(url).content.decode()
        thin = row_of(page, "Account THIN-1")
        assert "insufficient data" in thin and "pill healthy" not in thin, url
        assert 'pill healthy">82' in row_of(page, "Account FULL-1"), url


def test_the_account_page_shows_insufficient_data_not_a_band(thin_and_full):
    thin, full = thin_and_full
    client = signed_in_client("alice")
    page = client.get(f"/accounts/{thin.pk}/").content.decode()
    assert "insufficient data" in page and "Healthy" not in page[page.index("<h2>Health") :][:400]
    assert "insufficient data" not in client.get(f"/accounts/{full.pk}/").content.decode()
