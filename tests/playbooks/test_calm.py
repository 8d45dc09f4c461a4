"""Automation stays calm: an auto-started run always has an owner (else it is only suggested),
one evaluation starts at most the trigger's limit (the rest go into one summary insight), and a
playbook already open for an account is not suggested again."""

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from kpis.models import Account, Insight
from playbooks.models import Execution, Playbook, Trigger
from playbooks.services import execution_start, trigger_create, triggers_evaluate
from tests.api.helpers import api, error_of, new_key
from tests.conftest import DEMO_TODAY, tenant_member

ANY_BAND = {"type": "band_in", "bands": ["healthy", "risk", "critical"]}
NOW = timezone.make_aware(dt.datetime.combine(DEMO_TODAY, dt.time(9)))


def only_trigger(**settings) -> Trigger:
    """The only enabled trigger: auto-starts Adoption Rescue for every account."""
    Trigger.objects.update(enabled=False)
    return trigger_create(
        playbook=Playbook.objects.get(key="adoption_rescue"),
        condition=ANY_BAND,
        action=Trigger.Action.AUTO_START,
        **settings,
    )


def runs_of(trigger: Trigger):
    return Execution.objects.filter(started_by=f"trigger:{trigger.pk}")


def suggestions(account: Account | None = None):
    found = Insight.objects.filter(rule=Insight.Rule.PLAYBOOK_SUGGESTED, subject="adoption_rescue")
    return found.filter(account=account) if account else found


def test_one_evaluation_starts_at_most_the_limit_and_summarises_the_rest(alice_data):
    with schema_context("alice"):
        trigger = only_trigger(fallback_owner="admin", max_starts_per_evaluation=7)
        triggers_evaluate(now=NOW)

        assert runs_of(trigger).count() == 7
        summaries = Insight.objects.filter(subject__startswith=f"capped:{trigger.pk}:")
        assert summaries.count() == 1
        summary = summaries.get()
        capped = set(Account.objects.values_list("pk", flat=True)) - set(
            runs_of(trigger).values_list("account_id", flat=True)
        )
        assert set(summary.data["accounts"]) == capped and len(capped) == 25 - 7
        assert summary.title == "18 more accounts are due for Adoption Rescue"
        assert "health band is healthy, risk or critical" in summary.detail
        # The capped accounts fired (cooldown), so the next evaluation starts nothing more.
        triggers_evaluate(now=NOW + dt.timedelta(minutes=15))
        assert runs_of(trigger).count() == 7 and summaries.count() == 1


def test_a_run_is_owned_by_the_accounts_owner_when_they_are_a_teammate(alice_data):
    tenant_member("alice", "mia", role="manager", full_name="Mia Mills")
    with schema_context("alice"):
        techcorp = Account.objects.get(name="TechCorp Solutions")
        Account.objects.filter(pk=techcorp.pk).update(owner="Mia Mills")
        trigger = only_trigger(fallback_owner="admin")
        triggers_evaluate(now=NOW)

        owners = dict(runs_of(trigger).values_list("account_id", "owner"))
        assert owners[techcorp.pk] == "mia"
        assert set(owners.values()) == {"mia", "admin"} and len(owners) == 25


def test_without_an_owner_or_fallback_the_run_is_only_suggested(alice_data):
    tenant_member("alice", "mia", role="manager")
    with schema_context("alice"):
        techcorp = Account.objects.get(name="TechCorp Solutions")
        Account.objects.filter(pk=techcorp.pk).update(owner="mia@alice.example.com")
        trigger = only_trigger()
        triggers_evaluate(now=NOW)

        assert list(runs_of(trigger).values_list("account_id", "owner")) == [(techcorp.pk, "mia")]
        assert suggestions().count() == 24 and not suggestions(techcorp).exists()


def test_a_deactivated_fallback_owner_owns_nothing(alice_data):
    mia = tenant_member("alice", "mia", role="manager")
    with schema_context("alice"):
        trigger = only_trigger(fallback_owner="mia")
        type(mia).objects.filter(pk=mia.pk).update(is_active=False)
        triggers_evaluate(now=NOW)

        assert not runs_of(trigger).exists() and suggestions().count() == 25


def test_an_open_playbook_is_not_suggested_again(alice_data):
    with schema_context("alice"):
        techcorp = Account.objects.get(name="TechCorp Solutions")
        playbook = Playbook.objects.get(key="adoption_rescue")
        execution_start(playbook=playbook, account=techcorp, started_by="user:admin", owner="admin")
        trigger = only_trigger()
        Trigger.objects.filter(pk=trigger.pk).update(action=Trigger.Action.SUGGEST)
        triggers_evaluate(now=NOW)

        assert suggestions().count() == 24 and not suggestions(techcorp).exists()


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"fallback_owner": "nobody"}, "fallback_owner"),
        ({"max_starts_per_evaluation": 0}, "max_starts_per_evaluation"),
        ({"max_starts_per_evaluation": 501}, "max_starts_per_evaluation"),
    ],
)
def test_a_bad_owner_or_limit_is_a_400_naming_the_field(alice, settings, field):
    body = {"playbook": "adoption_rescue", "condition": ANY_BAND, "action": "auto_start", **settings}
    response = api(new_key(alice)).post("/api/v1/triggers/", body, content_type="application/json")

    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == [field]


def test_the_owner_and_limit_are_set_over_the_api(alice):
    body = {
        "playbook": "adoption_rescue",
        "condition": ANY_BAND,
        "action": "auto_start",
        "fallback_owner": "admin",
        "max_starts_per_evaluation": 10,
    }
    response = api(new_key(alice)).post("/api/v1/triggers/", body, content_type="application/json")

    assert response.status_code == 201, response.content
    assert response.json()["fallback_owner"] == "admin" and response.json()["max_starts_per_evaluation"] == 10
