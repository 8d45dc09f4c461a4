import pytest
from django_tenants.utils import schema_context

from kpis.models import Insight
from tests.api.helpers import api, error_of, new_key


def test_accounts_list_with_health_and_filters(portfolio):
    client = api(new_key(portfolio.tenant))
    body = client.get("/api/v1/accounts/?band=critical&ordering=score").json()
    assert body["count"] >= 1
    assert all(row["band"] == "critical" for row in body["results"])
    assert body["results"][0]["score"] <= body["results"][-1]["score"]
    techcorp = client.get(f"/api/v1/accounts/{portfolio.techcorp.pk}/").json()
    assert techcorp["change"] < 0 and techcorp["slope_3m"] < 0
    assert client.get("/api/accounts").json()["count"] == len(portfolio.accounts)  # the predecessor's alias


def test_a_bad_filter_is_a_400_naming_it(alice):
    response = api(new_key(alice)).get("/api/v1/accounts/?renewal_within_days=soon")
    assert response.status_code == 400
    assert "renewal_within_days" in error_of(response)["fields"]


def test_account_kpis_between_months(techcorp, alice):
    series = api(new_key(alice)).get(f"/api/v1/accounts/{techcorp.pk}/kpis/?from=2026-05&to=2026-07").json()
    assert len(series) == 25
    periods = {point["period"] for kpi in series for point in kpi["points"]}
    assert periods == {"2026-05-01", "2026-06-01", "2026-07-01"}
    assert {"worst", "critical", "healthy", "best"} <= set(series[0]["kpi"])


def test_account_health_history_carries_explanations(techcorp, alice):
    history = api(new_key(alice)).get(f"/api/v1/accounts/{techcorp.pk}/health/").json()
    assert len(history) == 18
    latest = history[-1]
    assert latest["band"] == "critical"
    assert len(latest["explanation"]["drivers"]) == 3
    assert sum(k["points"] for k in latest["explanation"]["kpis"]) + latest["explanation"][
        "adjustment_points"
    ] == (__import__("pytest").approx(latest["score"], abs=0.01))


def test_insights_and_portfolio(portfolio):
    client = api(new_key(portfolio.tenant))
    insights = client.get("/api/v1/insights/?severity=critical").json()
    assert insights["count"] > 0
    with schema_context("alice"):
        assert insights["count"] == Insight.objects.filter(severity="critical").count()
    summary = client.get("/api/v1/portfolio/").json()
    assert sum(summary["distribution"].values()) == summary["accounts_scored"] == len(portfolio.accounts)
    assert len(summary["trend"]["points"]) == 12 and len(summary["money"]["forecast"]) == 12


def test_the_account_filters_are_a_selector_the_portal_shares(db):
    from django.core.exceptions import ValidationError

    from kpis.selectors import AccountFilters, account_filters

    assert account_filters({"band": "risk", "renewal_within_days": "90"}) == AccountFilters(
        band="risk", renewal_within_days=90
    )
    with pytest.raises(ValidationError) as refused:
        account_filters({"renewal_within_days": "soon"})
    assert list(refused.value.message_dict) == ["renewal_within_days"]
