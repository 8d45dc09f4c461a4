import re

from django.utils.html import escape
from django_tenants.utils import schema_context

from playbooks.catalog import DEFAULT_PLAYBOOKS
from playbooks.models import Execution, Playbook
from tests.api.helpers import api, error_of, new_key
from tests.conftest import host_client, signed_in_client, tenant_member
from users.models import User


def test_the_catalog_and_a_playbook_with_effectiveness(techcorp, alice):
    client = api(new_key(alice))
    catalog = client.get("/api/v1/playbooks/").json()
    assert catalog["count"] == 6
    detail = client.get("/api/v1/playbooks/renewal_safeguard/").json()
    assert detail["steps"][0]["accountable"] and "effectiveness" in detail


def test_start_step_report_and_cancel_over_the_api(techcorp, alice):
    client = api(new_key(alice))
    created = client.post(
        "/api/v1/executions/",
        {"playbook": "voc_sprint", "account": techcorp.pk},
        content_type="application/json",
    )
    assert created.status_code == 201
    execution_id = created.json()["id"]

    again = client.post(
        "/api/v1/executions/",
        {"playbook": "voc_sprint", "account": techcorp.pk},
        content_type="application/json",
    )
    assert again.status_code == 400 and "already in progress" in error_of(again)["message"] + str(
        error_of(again)["fields"]
    )

    stepped = client.post(
        f"/api/v1/executions/{execution_id}/steps/1/complete",
        {"notes": "done"},
        content_type="application/json",
    )
    assert stepped.json()["steps"][0]["status"] == "completed"
    report = client.get(f"/api/v1/executions/{execution_id}/report/").json()
    assert report["steps"][0]["progress"]["notes"] == "done" and report["timeline"]
    assert client.get(f"/api/v1/executions/?status=in_progress&account={techcorp.pk}").json()["count"] == 1

    cancelled = client.patch(
        f"/api/v1/executions/{execution_id}/", {"status": "cancelled"}, content_type="application/json"
    )
    assert cancelled.json()["status"] == "cancelled"


def test_bad_execution_input_is_a_400(techcorp, alice):
    client = api(new_key(alice))
    response = client.post(
        "/api/v1/executions/", {"playbook": "nope", "account": techcorp.pk}, content_type="application/json"
    )
    assert response.status_code == 400 and "playbook" in error_of(response)["fields"]


def test_triggers_are_listed_created_and_changed(alice):
    client = api(new_key(alice))
    created = client.post(
        "/api/v1/triggers/",
        {
            "playbook": "adoption_rescue",
            "condition": {"type": "kpi_below", "kpi": "active_user_ratio", "value": 30},
            "action": "suggest",
        },
        content_type="application/json",
    )
    assert created.status_code == 201
    changed = client.patch(
        f"/api/v1/triggers/{created.json()['id']}/", {"enabled": False}, content_type="application/json"
    )
    assert changed.json()["enabled"] is False
    bad = client.post(
        "/api/v1/triggers/",
        {"playbook": "adoption_rescue", "condition": {"type": "magic"}},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "condition" in error_of(bad)["fields"]


def test_the_portal_steps_through_an_execution_and_prints_its_report(techcorp, alice):
    client = signed_in_client("alice")
    response = client.post("/playbooks/renewal_safeguard/start/", {"account": techcorp.pk})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Renewal Safeguard" in page and "R:" in page and "A:" in page and "Exit criteria" in page
    with schema_context("alice"):
        execution = Execution.objects.get()
    client.post(f"/executions/{execution.pk}/steps/0/", {"notes": "kick-off"})
    report = client.get(f"/executions/{execution.pk}/report/").content.decode()
    assert "RACI and steps" in report and "Health at start vs now" in report
    assert (
        client.get(f"/executions/{execution.pk}/report/?format=csv").content.decode().startswith("step,title")
    )
    assert "Open steps" in client.get("/executions/").content.decode()
    assert "Does it work?" in client.get("/playbooks/renewal_safeguard/").content.decode()


def test_deleting_an_execution_deletes_its_report(techcorp, alice):
    client = signed_in_client("alice")
    client.post("/playbooks/voc_sprint/start/", {"account": techcorp.pk})
    with schema_context("alice"):
        execution = Execution.objects.get()
        execution.delete()
    assert client.get(f"/executions/{execution.pk}/report/").status_code == 404


def test_viewers_read_but_cannot_start_or_step(techcorp, alice):
    tenant_member("alice", "vic", role=User.Role.VIEWER)
    viewer = signed_in_client("alice", username="vic")
    assert viewer.get("/playbooks/").status_code == 200
    assert viewer.post("/playbooks/voc_sprint/start/", {"account": techcorp.pk}).status_code == 403


def test_another_tenants_execution_is_not_found(techcorp, bob):
    with schema_context("alice"):
        from playbooks.services import execution_start

        execution = execution_start(
            playbook=Playbook.objects.get(key="voc_sprint"), account=techcorp, started_by="t"
        )
    bob_client = signed_in_client("bob")
    for path in (f"/executions/{execution.pk}/", f"/executions/{execution.pk}/report/"):
        assert bob_client.get(path).status_code == 404
    assert bob_client.post(f"/executions/{execution.pk}/steps/0/").status_code == 404


def test_playbook_pages_need_a_sign_in(alice):
    for path in ("/playbooks/", "/executions/"):
        assert host_client("alice").get(path)["Location"].startswith("/login/")


def test_each_playbooks_page_says_why_when_what_for_and_who_does_each_step(alice):
    client = signed_in_client("alice")
    for playbook in DEFAULT_PLAYBOOKS:
        page = client.get(f"/playbooks/{playbook.key}/").content.decode()
        shown = [playbook.purpose, playbook.when_to_use, *playbook.expected_outcomes]
        shown += [text for step in playbook.steps for text in (step.title, step.raci.accountable)]
        for text in shown:
            assert escape(text) in page, (playbook.key, text)
        assert not re.search(r"lorem|ipsum|TODO|TBD", page, re.IGNORECASE), playbook.key
