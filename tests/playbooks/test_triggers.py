"""Triggers and exit criteria are validated whole wherever they are saved (API, portal,
admin, services), and evaluation isolates a trigger that is broken anyway."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.dispatch import receiver
from django_tenants.utils import schema_context

from ingest.models import Alert, Upload
from ingest.services import data_loaded
from kpis.models import HealthSnapshot, Insight
from playbooks import services
from playbooks.models import Playbook, Trigger
from playbooks.services import playbook_update, trigger_create, trigger_update, triggers_evaluate
from tests.api.helpers import api, error_of, new_key
from tests.conftest import signed_in_client, tenant_member, twice_at_once
from tests.ingest.conftest import KPI_HEADER
from tests.ingest.test_pipeline import load
from tests.kpis.factories import KpiDefinitionFactory

BANDS_HINT = "Give a list of at least one of healthy, risk, critical."
ANY_BAND = {"type": "band_in", "bands": ["healthy", "risk", "critical"]}
KPIS = KPI_HEADER + "ACC-1,nps,2026-09,35\nACC-1,nps,2026-10,30\nACC-2,csat,2026-10,88\n"


def post_trigger(client, condition, **extra):
    body = {"playbook": "adoption_rescue", "condition": condition, **extra}
    return client.post("/api/v1/triggers/", body, content_type="application/json")


def patch_trigger(client, pk, body):
    return client.patch(f"/api/v1/triggers/{pk}/", body, content_type="application/json")


def stored(condition, key="voc_sprint", **fields) -> Trigger:
    """A trigger written straight to the database, as ones saved before validation were."""
    return Trigger.objects.create(playbook=Playbook.objects.get(key=key), condition=condition, **fields)


def suggested(key="voc_sprint") -> int:
    return Insight.objects.filter(rule=Insight.Rule.PLAYBOOK_SUGGESTED, subject=key).count()


# --- API ----------------------------------------------------------------------------------------


def test_a_band_in_trigger_without_bands_is_a_400_naming_the_field(alice):
    with schema_context("alice"):
        before = Trigger.objects.count()
    response = post_trigger(api(new_key(alice)), {"type": "band_in"})

    assert response.status_code == 400
    assert error_of(response)["fields"] == {"condition.bands": [BANDS_HINT]}
    with schema_context("alice"):
        assert Trigger.objects.count() == before


@pytest.mark.parametrize(
    ("condition", "path"),
    [
        ({"type": "band_in", "bands": ["amber"]}, "condition.bands"),
        ({"type": "score_drop"}, "condition.points"),
        ({"type": "score_drop", "points": "lots"}, "condition.points"),
        ({"type": "score_drop", "points": 10, "months": 12}, "condition.months"),
        ({"type": "kpi_below", "value": 30}, "condition.kpi"),
        ({"type": "kpi_above", "kpi": "nps", "value": None}, "condition.value"),
        ({"type": "renewal_within", "days": 0}, "condition.days"),
        ({"type": "insight", "rule": "magic"}, "condition.rule"),
        ({"type": "insight", "rule": "renewal_risk", "note": "x"}, "condition.note"),
    ],
)
def test_each_condition_types_missing_or_ill_typed_field_is_a_400(alice, condition, path):
    response = post_trigger(api(new_key(alice)), condition)
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == [path]


def test_a_kpi_outside_the_tenants_catalog_is_refused(alice, bob):
    with schema_context("bob"):
        KpiDefinitionFactory(key="bob_only", name="Bob's own", category="Usage")
    condition = {"type": "kpi_below", "kpi": "bob_only", "value": 10}
    refused = post_trigger(api(new_key(alice)), condition)
    assert refused.status_code == 400 and list(error_of(refused)["fields"]) == ["condition.kpi"]
    assert post_trigger(api(new_key(bob), "bob"), condition).status_code == 201


def test_a_patch_is_validated_whole_and_changes_nothing_when_refused(alice):
    client = api(new_key(alice))
    created = post_trigger(client, {"type": "renewal_within", "days": 90}).json()
    assert created["last_error"] == ""

    refused = patch_trigger(client, created["id"], {"condition": {"type": "renewal_within"}})
    assert refused.status_code == 400 and list(error_of(refused)["fields"]) == ["condition.days"]
    too_long = patch_trigger(client, created["id"], {"cooldown_days": 100_000})
    assert too_long.status_code == 400 and list(error_of(too_long)["fields"]) == ["cooldown_days"]
    with schema_context("alice"):
        trigger = Trigger.objects.get(pk=created["id"])
    assert trigger.condition == {"type": "renewal_within", "days": 90} and trigger.cooldown_days == 30


def test_a_broken_trigger_can_be_switched_off_but_not_on_until_fixed(alice):
    with schema_context("alice"):
        broken = stored({"type": "band_in"}, enabled=False)
    client = api(new_key(alice))

    switched_on = patch_trigger(client, broken.pk, {"enabled": True})
    assert switched_on.status_code == 400 and error_of(switched_on)["fields"] == {
        "condition.bands": [BANDS_HINT]
    }
    with schema_context("alice"):
        Trigger.objects.filter(pk=broken.pk).update(enabled=True)
    assert patch_trigger(client, broken.pk, {"enabled": False}).json()["enabled"] is False
    fixed = patch_trigger(client, broken.pk, {"condition": ANY_BAND, "enabled": True})
    assert fixed.status_code == 200 and fixed.json()["enabled"] is True


# --- services and admin: exit criteria and triggers ----------------------------------------------


def test_exit_criteria_are_validated_whole_by_the_service(alice):
    with schema_context("alice"):
        playbook = Playbook.objects.get(key="voc_sprint")
        before = playbook.exit_criteria
        bad = [
            *before,
            {
                "key": "nps_up",
                "description": "NPS above ten.",
                "check": {"type": "kpi_at_least", "kpi": "nope", "value": 10},
            },
        ]
        with pytest.raises(ValidationError) as refused:
            playbook_update(playbook=playbook, exit_criteria=bad)
        assert list(refused.value.message_dict) == [f"exit_criteria[{len(before)}].check.kpi"]
        playbook.refresh_from_db()
        assert playbook.exit_criteria == before

        good = [
            *before,
            {
                "key": "nps_up",
                "description": "NPS above ten.",
                "check": {"type": "kpi_at_least", "kpi": "nps", "value": 10},
            },
        ]
        playbook_update(playbook=playbook, exit_criteria=good)
        playbook.refresh_from_db()
        assert playbook.exit_criteria[-1]["key"] == "nps_up"


def test_trigger_services_refuse_a_broken_condition(alice):
    with schema_context("alice"):
        playbook = Playbook.objects.get(key="voc_sprint")
        with pytest.raises(ValidationError) as refused:
            trigger_create(playbook=playbook, condition={"type": "band_in"})
        assert refused.value.message_dict == {"condition.bands": [BANDS_HINT]}
        trigger = trigger_create(playbook=playbook, condition=ANY_BAND, action="auto_start", cooldown_days=7)
        with pytest.raises(ValidationError):
            trigger_update(trigger=trigger, action="shout")
        assert Trigger.objects.get(pk=trigger.pk).action == "auto_start"


def playbook_form(playbook: Playbook, **changes) -> dict:
    data = {
        "name": playbook.name,
        "purpose": playbook.purpose,
        "when_to_use": playbook.when_to_use,
        "expected_duration_days": playbook.expected_duration_days,
        "expected_outcomes": json.dumps(playbook.expected_outcomes),
        "exit_criteria": json.dumps(playbook.exit_criteria),
        "active": "on",
    }
    return {**data, **changes}


def test_the_admin_shows_exit_criteria_problems_and_saves_good_ones(alice):
    client = signed_in_client("alice")
    with schema_context("alice"):
        playbook = Playbook.objects.get(key="voc_sprint")
    url = f"/admin/playbooks/playbook/{playbook.pk}/change/"
    bad = [{"key": "healthy_again", "description": "Back to healthy.", "check": {"type": "band_is"}}]

    refused = client.post(url, playbook_form(playbook, exit_criteria=json.dumps(bad)))
    assert refused.status_code == 200
    assert "exit_criteria[0].check.band: Give one of healthy, risk, critical." in refused.content.decode()

    good = [{**bad[0], "check": {"type": "band_is", "band": "healthy"}}]
    saved = client.post(url, playbook_form(playbook, exit_criteria=json.dumps(good), name="VoC Sprint 2"))
    assert saved.status_code == 302
    with schema_context("alice"):
        playbook.refresh_from_db()
    assert playbook.exit_criteria == good and playbook.name == "VoC Sprint 2"


def test_the_admin_shows_trigger_problems_and_saves_through_the_service(alice):
    client = signed_in_client("alice")
    with schema_context("alice"):
        playbook = Playbook.objects.get(key="voc_sprint")
        before = Trigger.objects.count()
    form = {
        "playbook": playbook.pk,
        "condition": json.dumps({"type": "band_in"}),
        "action": "suggest",
        "cooldown_days": 30,
        "enabled": "on",
    }

    refused = client.post("/admin/playbooks/trigger/add/", form)
    assert refused.status_code == 200
    assert f"condition.bands: {BANDS_HINT}" in refused.content.decode()

    saved = client.post("/admin/playbooks/trigger/add/", {**form, "condition": json.dumps(ANY_BAND)})
    assert saved.status_code == 302
    with schema_context("alice"):
        assert Trigger.objects.count() == before + 1
        broken = stored({"type": "band_in"}, last_error="condition.bands: …")
    page = client.get(f"/admin/playbooks/trigger/{broken.pk}/change/").content.decode()
    assert "condition.bands: …" in page  # why evaluation skips it
    fixed = client.post(
        f"/admin/playbooks/trigger/{broken.pk}/change/", {**form, "condition": json.dumps(ANY_BAND)}
    )
    assert fixed.status_code == 302
    with schema_context("alice"):
        broken.refresh_from_db()
    assert broken.condition == ANY_BAND and broken.last_error == ""


# --- portal --------------------------------------------------------------------------------------


def test_an_editor_adds_and_changes_a_trigger_on_the_playbook_page(alice):
    client = signed_in_client("alice")
    assert "Add a trigger" in client.get("/playbooks/adoption_rescue/").content.decode()
    created = client.post(
        "/playbooks/adoption_rescue/triggers/new/",
        {
            "type": "kpi_below",
            "kpi": "nps",
            "value": "-10",
            "action": "suggest",
            "cooldown_days": "45",
            "enabled": "on",
        },
    )
    assert created.status_code == 302 and created["Location"] == "/playbooks/adoption_rescue/"
    with schema_context("alice"):
        trigger = Trigger.objects.latest("pk")
    assert trigger.condition == {"type": "kpi_below", "kpi": "nps", "value": -10}
    assert trigger.cooldown_days == 45 and trigger.enabled

    changed = client.post(
        f"/playbooks/adoption_rescue/triggers/{trigger.pk}/",
        {"type": "score_drop", "points": "12", "months": "2", "action": "auto_start", "cooldown_days": "60"},
    )
    assert changed.status_code == 302
    trigger.refresh_from_db()
    assert trigger.condition == {"type": "score_drop", "points": 12, "months": 2}
    assert trigger.action == "auto_start" and not trigger.enabled


def test_the_portal_form_shows_the_problem_next_to_its_field(alice):
    client = signed_in_client("alice")
    with schema_context("alice"):
        before = Trigger.objects.count()
    page = client.post(
        "/playbooks/adoption_rescue/triggers/new/",
        {"type": "band_in", "action": "suggest", "cooldown_days": "30"},
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="field has-error"' in html and BANDS_HINT in html
    with schema_context("alice"):
        assert Trigger.objects.count() == before


def test_the_playbook_page_shows_why_a_trigger_is_skipped(alice):
    with schema_context("alice"):
        stored({"type": "band_in"}, key="adoption_rescue", last_error=f"condition.bands: {BANDS_HINT}")
    page = signed_in_client("alice").get("/playbooks/adoption_rescue/").content.decode()
    assert f"condition.bands: {BANDS_HINT}" in page


def test_viewers_see_triggers_but_cannot_add_or_change_them(alice):
    tenant_member("alice", "vic")
    with schema_context("alice"):
        trigger = Trigger.objects.filter(playbook__key="adoption_rescue").first()
    viewer = signed_in_client("alice", username="vic")
    assert "Add a trigger" not in viewer.get("/playbooks/adoption_rescue/").content.decode()
    assert viewer.get("/playbooks/adoption_rescue/triggers/new/").status_code == 403
    assert (
        viewer.post(f"/playbooks/adoption_rescue/triggers/{trigger.pk}/", {"type": "band_in"}).status_code
        == 403
    )


def test_another_tenants_trigger_is_not_found_in_the_portal(alice, bob):
    with schema_context("bob"):  # one more than the seeded triggers: an id only bob has
        bobs = stored(ANY_BAND, key="adoption_rescue")
    alice_client = signed_in_client("alice")
    url = f"/playbooks/adoption_rescue/triggers/{bobs.pk}/"
    assert alice_client.get(url).status_code == 404
    form = {"type": "renewal_within", "days": "5", "action": "suggest", "cooldown_days": "1"}
    assert alice_client.post(url, form).status_code == 404
    admin_url = f"/admin/playbooks/trigger/{bobs.pk}/change/"
    assert alice_client.get(admin_url)["Location"] == "/admin/"  # "does not exist", back to the index
    alice_client.post(admin_url, {"condition": json.dumps({"type": "renewal_within", "days": 5})})
    with schema_context("bob"):
        bobs.refresh_from_db()
    assert bobs.condition == ANY_BAND


# --- evaluation isolates a broken trigger -------------------------------------------------------


@pytest.fixture
def one_valid_one_broken(techcorp):
    with schema_context("alice"):
        Trigger.objects.all().delete()
        # Triggers run in playbook name order: Adoption Rescue's broken one comes first.
        broken = stored({"type": "band_in"}, key="adoption_rescue")
        valid = stored(ANY_BAND)
    return broken, valid


def test_a_broken_trigger_is_skipped_recorded_and_alerted_once(one_valid_one_broken, techcorp):
    broken, valid = one_valid_one_broken
    with schema_context("alice"):
        assert triggers_evaluate(account_ids=[techcorp.pk]) == 1
        assert suggested() == 1
        broken.refresh_from_db()
        assert broken.last_error == f"condition.bands: {BANDS_HINT}" and broken.last_evaluated_at is None
        triggers_evaluate(account_ids=[techcorp.pk])
        alert = Alert.objects.get()  # once per trigger until fixed, not every 15 minutes
        assert alert.kind == Alert.Kind.TRIGGER_BROKEN
        assert f"trigger {broken.pk}" in alert.message and "condition.bands" in alert.message

        trigger_update(trigger=broken, condition={"type": "band_in", "bands": ["critical"]})
        broken.refresh_from_db()
        assert broken.last_error == ""
        triggers_evaluate(account_ids=[techcorp.pk])
        broken.refresh_from_db()
        assert broken.last_evaluated_at is not None and Alert.objects.count() == 1


def test_a_database_error_in_one_trigger_leaves_the_others_running(
    one_valid_one_broken, techcorp, monkeypatch
):
    broken, _valid = one_valid_one_broken
    poisoned = {"type": "renewal_within", "days": 77}
    real_condition_met = services.condition_met

    def condition_met(condition, facts):
        if condition == poisoned:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 / 0")
        return real_condition_met(condition, facts)

    monkeypatch.setattr(services, "condition_met", condition_met)
    with schema_context("alice"):
        Trigger.objects.filter(pk=broken.pk).update(condition=poisoned)
        assert triggers_evaluate(account_ids=[techcorp.pk]) == 1
        broken.refresh_from_db()
        assert "division by zero" in broken.last_error
        assert Alert.objects.filter(kind=Alert.Kind.TRIGGER_BROKEN).count() == 1


def test_two_workers_meeting_a_broken_trigger_at_once_raise_one_alert(committed_tenants):
    committed_tenants("alice")
    with schema_context("alice"):
        stored({"type": "band_in"})

    twice_at_once("alice", triggers_evaluate)

    with schema_context("alice"):
        assert Alert.objects.filter(kind=Alert.Kind.TRIGGER_BROKEN).count() == 1


@pytest.fixture
def failing_receiver():
    @receiver(data_loaded, dispatch_uid="test-failing-receiver")
    def fail(sender, **kwargs):
        raise RuntimeError("a listener broke")

    yield
    data_loaded.disconnect(dispatch_uid="test-failing-receiver")


def test_an_upload_completes_its_follow_up_despite_a_broken_trigger(alice, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path)
    with schema_context("alice"):
        Trigger.objects.all().delete()
        broken = stored({"type": "band_in"}, key="adoption_rescue")
        stored(ANY_BAND)

    upload = load(alice, KPIS, "kpis", create_missing_accounts=True)

    assert upload.status == Upload.Status.COMPLETED
    with schema_context("alice"):
        assert HealthSnapshot.objects.filter(account__external_id="ACC-1").count() == 2
        assert suggested() == 2  # both touched accounts
        broken.refresh_from_db()
        assert broken.last_error.startswith("condition.bands")


def test_an_upload_completes_when_a_listener_fails(alice, tmp_path, settings, failing_receiver):
    settings.MEDIA_ROOT = str(tmp_path)
    with schema_context("alice"):
        Trigger.objects.all().delete()
        stored(ANY_BAND)

    upload = load(alice, KPIS, "kpis", create_missing_accounts=True)

    assert upload.status == Upload.Status.COMPLETED
    with schema_context("alice"):
        assert suggested() == 2


def test_a_trigger_whose_condition_is_not_even_an_object_still_shows_everywhere(alice):
    with schema_context("alice"):
        odd = stored(["band_in", "risk"], key="adoption_rescue")
    client = signed_in_client("alice")
    for path in (
        "/admin/playbooks/trigger/",
        f"/admin/playbooks/trigger/{odd.pk}/change/",
        "/playbooks/adoption_rescue/",
        f"/playbooks/adoption_rescue/triggers/{odd.pk}/",
    ):
        assert client.get(path).status_code == 200, path
    assert api(new_key(alice)).get(f"/api/v1/triggers/{odd.pk}/").json()["condition"] == ["band_in", "risk"]
