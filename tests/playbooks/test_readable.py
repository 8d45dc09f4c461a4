"""Conditions and who started a run read as sentences on the pages and in the API, and the
executions page is paginated and filterable with a bounded number of queries."""

import pytest
from django_tenants.utils import schema_context

from kpis.models import Account
from playbooks.criteria import condition_sentence
from playbooks.models import Execution, Playbook, Trigger
from playbooks.selectors import actor_sentence
from playbooks.services import execution_start, execution_update, trigger_create
from tests.api.helpers import api, new_key
from tests.conftest import signed_in_client

CRITICAL = {"type": "band_in", "bands": ["critical"]}


@pytest.mark.parametrize(
    ("condition", "sentence"),
    [
        (CRITICAL, "health band is critical"),
        (
            {"type": "band_in", "bands": ["healthy", "risk", "critical"]},
            "health band is healthy, risk or critical",
        ),
        ({"type": "score_drop", "points": 15, "months": 1}, "health score fell 15 points or more in 1 month"),
        (
            {"type": "score_drop", "points": 7.5, "months": 3},
            "health score fell 7.5 points or more in 3 months",
        ),
        ({"type": "kpi_below", "kpi": "nps", "value": 20}, "Net Promoter Score is below 20"),
        ({"type": "kpi_above", "kpi": "csat", "value": 90}, "Customer satisfaction (CSAT) is above 90"),
        ({"type": "renewal_within", "days": 60}, "renewal is within 60 days"),
        ({"type": "insight", "rule": "renewal_risk"}, "insight “Renewal at risk” was raised"),
        ({"type": "band_in"}, "an invalid condition (fix it on the trigger)"),
        (["not", "a", "dict"], "an invalid condition (fix it on the trigger)"),
    ],
)
def test_conditions_read_as_sentences(condition, sentence):
    assert condition_sentence(condition) == sentence


def test_who_started_a_run_reads_as_a_sentence(alice):
    with schema_context("alice"):
        trigger = trigger_create(playbook=Playbook.objects.get(key="renewal_safeguard"), condition=CRITICAL)
        assert (
            actor_sentence(f"trigger:{trigger.pk}") == "trigger “health band is critical → Renewal Safeguard”"
        )
        assert actor_sentence("trigger:999999") == "a trigger since deleted"
    assert actor_sentence("user:ann") == "ann"
    assert actor_sentence("api:pk_ab12") == "API key pk_ab12…"


def test_the_pages_and_the_api_show_sentences_and_keep_the_raw_fields(techcorp, alice_data):
    with schema_context("alice"):
        playbook = Playbook.objects.get(key="renewal_safeguard")
        trigger = trigger_create(playbook=playbook, condition=CRITICAL)
        run = execution_start(
            playbook=playbook, account=techcorp, started_by=f"trigger:{trigger.pk}", owner="admin"
        )
    client = signed_in_client("alice")
    said = "trigger “health band is critical → Renewal Safeguard”"

    for url in (f"/executions/{run.pk}/", f"/executions/{run.pk}/report/", "/executions/"):
        page = client.get(url).content.decode()
        assert "by " + said in page.replace("&ldquo;", "“").replace("&rdquo;", "”"), url
    playbook_page = client.get("/playbooks/renewal_safeguard/").content.decode()
    assert "When health band is critical" in playbook_page and "{&#x27;type&#x27;" not in playbook_page

    rest = api(new_key(alice_data))
    found = rest.get(f"/api/v1/executions/{run.pk}/").json()
    assert found["started_by"] == f"trigger:{trigger.pk}" and found["started_by_text"] == said
    listed = rest.get(f"/api/v1/triggers/{trigger.pk}/").json()
    assert listed["condition"] == CRITICAL and listed["condition_text"] == "health band is critical"


def runs_for_every_account(owner_of) -> None:
    for key in ("renewal_safeguard", "voc_sprint", "adoption_rescue"):
        playbook = Playbook.objects.get(key=key)
        for account in Account.objects.all():
            execution_start(
                playbook=playbook, account=account, started_by="user:admin", owner=owner_of(account)
            )


def test_the_executions_page_is_paginated_and_filtered(alice_data, django_assert_max_num_queries):
    with schema_context("alice"):
        runs_for_every_account(lambda account: "admin" if account.pk % 2 else "")
        voc = Execution.objects.filter(playbook__key="voc_sprint")
        done = voc.filter(owner="admin").first()
        execution_update(execution=done, by="admin", status=Execution.Status.CANCELLED)
    client = signed_in_client("alice")

    first = client.get("/executions/")
    assert first.context["page"].paginator.count == 75 and len(first.context["page"].object_list) == 50
    assert len(client.get("/executions/?page=2").context["page"].object_list) == 25

    def shown(query: str) -> set:
        return {run.pk for run in client.get(f"/executions/?{query}").context["page"].object_list}

    with schema_context("alice"):
        assert shown("playbook=voc_sprint") == set(voc.values_list("pk", flat=True))
        assert shown("status=cancelled") == {done.pk}
        assert shown("playbook=voc_sprint&owner=none") == set(
            voc.filter(owner="").values_list("pk", flat=True)
        )
        assert shown("owner=admin&status=in_progress") == set(
            Execution.objects.filter(owner="admin", status="in_progress").values_list("pk", flat=True)
        )
    with django_assert_max_num_queries(20):
        client.get("/executions/?owner=admin")


def test_another_tenants_runs_are_never_listed_or_offered_as_filters(alice_data, bob):
    with schema_context("alice"):
        techcorp = Account.objects.get(name="TechCorp Solutions")
        execution_start(
            playbook=Playbook.objects.get(key="voc_sprint"),
            account=techcorp,
            started_by="user:admin",
            owner="alice-only-owner",
        )
    page = signed_in_client("bob").get("/executions/?playbook=voc_sprint&owner=alice-only-owner")
    assert page.context["page"].paginator.count == 0
    assert "alice-only-owner" not in page.context["choices"]["owners"]
    assert "TechCorp" not in page.content.decode()


def test_the_api_filters_runs_by_playbook_and_owner(techcorp, alice_data):
    with schema_context("alice"):
        for key, owner in (("voc_sprint", "admin"), ("renewal_safeguard", "")):
            execution_start(
                playbook=Playbook.objects.get(key=key), account=techcorp, started_by="user:admin", owner=owner
            )
    rest = api(new_key(alice_data))

    def playbooks(query: str) -> list:
        return [run["playbook"] for run in rest.get(f"/api/v1/executions/?{query}").json()["results"]]

    assert playbooks("playbook=voc_sprint") == ["voc_sprint"]
    assert playbooks("owner=admin") == ["voc_sprint"]
    assert playbooks("owner=none") == ["renewal_safeguard"]


def test_the_trigger_form_takes_the_owner_and_limit_and_names_a_bad_owner(alice):
    client = signed_in_client("alice")
    form = {
        "type": "band_in",
        "bands": ["critical"],
        "action": "auto_start",
        "cooldown_days": 30,
        "enabled": "on",
        "max_starts_per_evaluation": 5,
    }

    refused = client.post("/playbooks/renewal_safeguard/triggers/new/", {**form, "fallback_owner": "nobody"})
    assert refused.status_code == 200
    assert (
        "No active teammate with the username “nobody”" in refused.context["form"].errors["fallback_owner"][0]
    )

    saved = client.post("/playbooks/renewal_safeguard/triggers/new/", {**form, "fallback_owner": "admin"})
    assert saved.status_code == 302
    with schema_context("alice"):
        trigger = Trigger.objects.filter(playbook__key="renewal_safeguard").latest("pk")
    assert (trigger.fallback_owner, trigger.max_starts_per_evaluation) == ("admin", 5)
