"""Insights are triaged: critical first everywhere, suggestions apart from problems, and each can
be acknowledged, snoozed until a date or assigned to a teammate, in the portal and the API."""

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from kpis.insights import insights_generate
from kpis.models import Insight
from kpis.services import account_upsert
from tenants.models import ApiKey
from tests.api.helpers import api, error_of, new_key
from tests.conftest import signed_in_client, tenant_member

TODAY = timezone.localdate()
MONTH = TODAY.replace(day=1)


def insight(account, rule, severity, title, period=MONTH) -> Insight:
    return Insight.objects.create(
        account=account, rule=rule, period=period, severity=severity, title=title, detail="Why it matters."
    )


@pytest.fixture
def triage_set(alice):
    """One account with an old info, a warning, a critical problem and a playbook suggestion."""
    with schema_context("alice"):
        account = account_upsert(external_id="A-1", name="Globex")
        rows = {
            "info": insight(
                account, Insight.Rule.DATA_GAP, "info", "Old info", period=MONTH - dt.timedelta(days=40)
            ),
            "warning": insight(account, Insight.Rule.SCORE_DROP, "warning", "Health dropped"),
            "critical": insight(account, Insight.Rule.KPI_CRITICAL, "critical", "NPS critical"),
            "suggestion": insight(account, Insight.Rule.PLAYBOOK_SUGGESTED, "info", "Run VoC Sprint?"),
        }
    return {name: row.pk for name, row in rows.items()}


def dashboard_problems(client) -> str:
    return (
        client.get("/")
        .content.decode()
        .split("Open insights, critical first")[1]
        .split("<h2>Suggestions</h2>")[0]
    )


def insights_table(client, query: str = "") -> str:
    return client.get(f"/insights/{query}").content.decode().split("<table")[-1]


def titles(response) -> list[str]:
    return [row["title"] for row in response.json()["results"]]


def test_the_api_lists_critical_first_and_tells_problems_from_suggestions(triage_set, alice):
    client = api(new_key(alice, ApiKey.Scope.READ))

    assert titles(client.get("/api/v1/insights/")) == [
        "NPS critical",
        "Health dropped",
        "Run VoC Sprint?",
        "Old info",
    ]
    assert titles(client.get("/api/v1/insights/?kind=suggestions")) == ["Run VoC Sprint?"]
    problems = client.get("/api/v1/insights/?kind=problems").json()["results"]
    assert {row["kind"] for row in problems} == {"problem"} and len(problems) == 3
    assert {row["status"] for row in problems} == {"open"}


def test_the_dashboard_lists_open_problems_critical_first_and_suggestions_apart(triage_set):
    client = signed_in_client("alice")
    page = client.get("/").content.decode()

    problems = dashboard_problems(client)
    assert problems.index("NPS critical") < problems.index("Health dropped") < problems.index("Old info")
    assert "Run VoC Sprint?" not in problems
    assert "Run VoC Sprint?" in page.split("<h2>Suggestions</h2>")[1]


def test_an_acknowledged_insight_leaves_the_open_lists_and_survives_regeneration(triage_set):
    client = signed_in_client("alice")

    response = client.post(f"/insights/{triage_set['critical']}/triage/", {"action": "acknowledge"})

    assert response.status_code == 302
    assert "NPS critical" not in dashboard_problems(client)
    assert "NPS critical" not in insights_table(client)
    acknowledged = insights_table(client, "?status=acknowledged")
    assert "NPS critical" in acknowledged and "Acknowledged by user:admin" in acknowledged
    with schema_context("alice"):
        insights_generate(model_version=1)
        assert Insight.objects.get(pk=triage_set["critical"]).acknowledged_by == "user:admin"

    client.post(f"/insights/{triage_set['critical']}/triage/", {"action": "reopen"})
    assert "NPS critical" in dashboard_problems(client)


def test_a_snoozed_insight_comes_back_on_its_date(triage_set, alice):
    client = api(new_key(alice))
    until = TODAY + dt.timedelta(days=3)

    body = client.patch(
        f"/api/v1/insights/{triage_set['warning']}/",
        {"snoozed_until": until.isoformat()},
        content_type="application/json",
    ).json()

    assert body["status"] == "snoozed" and body["snoozed_until"] == until.isoformat()
    assert "Health dropped" not in titles(client.get("/api/v1/insights/?status=open"))
    assert titles(client.get("/api/v1/insights/?status=snoozed")) == ["Health dropped"]
    with schema_context("alice"):
        from kpis.selectors import insight_filters, insights_filtered

        later = insights_filtered(insight_filters({"status": "open"}), today=until)
        assert "Health dropped" in [row.title for row in later]


def test_a_snooze_into_the_past_is_refused_with_what_to_do(triage_set, alice):
    client = signed_in_client("alice")
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()

    response = client.post(
        f"/insights/{triage_set['warning']}/triage/", {"action": "snooze", "until": yesterday}, follow=True
    )
    assert "Snooze until a date after today" in response.content.decode()
    refused = api(new_key(alice)).patch(
        f"/api/v1/insights/{triage_set['warning']}/",
        {"snoozed_until": yesterday},
        content_type="application/json",
    )
    assert refused.status_code == 400 and "snoozed_until" in error_of(refused)["fields"]
    with schema_context("alice"):
        assert Insight.objects.get(pk=triage_set["warning"]).snoozed_until is None


def test_an_insight_is_assigned_to_a_teammate_and_found_by_them(triage_set, alice):
    tenant_member("alice", "maya", role="manager")
    client = api(new_key(alice))
    url = f"/api/v1/insights/{triage_set['critical']}/"

    assert (
        client.patch(url, {"assigned_to": "maya"}, content_type="application/json").json()["assigned_to"]
        == "maya"
    )
    assert titles(client.get("/api/v1/insights/?assigned_to=maya")) == ["NPS critical"]
    mine = insights_table(signed_in_client("alice", "maya"), "?assigned_to=maya")
    assert "NPS critical" in mine and "Health dropped" not in mine
    unknown = client.patch(url, {"assigned_to": "nobody"}, content_type="application/json")
    assert unknown.status_code == 400 and "No teammate named" in error_of(unknown)["fields"]["assigned_to"][0]


def test_read_keys_and_viewers_cannot_triage(triage_set, alice):
    tenant_member("alice", "vera", role="viewer")
    read_only = api(new_key(alice, ApiKey.Scope.READ)).patch(
        f"/api/v1/insights/{triage_set['critical']}/",
        {"status": "acknowledged"},
        content_type="application/json",
    )
    viewer = signed_in_client("alice", "vera").post(
        f"/insights/{triage_set['critical']}/triage/", {"action": "acknowledge"}
    )

    assert read_only.status_code == 403
    assert viewer.status_code in (302, 403)
    with schema_context("alice"):
        assert Insight.objects.get(pk=triage_set["critical"]).acknowledged_at is None


def test_another_tenant_can_neither_see_nor_triage_an_insight(triage_set, bob):
    patch = api(new_key(bob)).patch(
        f"/api/v1/insights/{triage_set['critical']}/",
        {"status": "acknowledged"},
        content_type="application/json",
    )
    portal = signed_in_client("bob").post(
        f"/insights/{triage_set['critical']}/triage/", {"action": "acknowledge"}
    )

    assert patch.status_code == 404 and portal.status_code == 404
    with schema_context("alice"):
        assert Insight.objects.get(pk=triage_set["critical"]).acknowledged_at is None
