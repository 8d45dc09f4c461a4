"""Triggers that hold out a share of their accounts: drawn once when the trigger fires, never
re-drawn; held-out accounts get no run (or a delayed one); near-renewal critical accounts are
never held out unless the admin says so; an admin can stop holding out."""

import datetime as dt
import itertools

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from kpis.models import Account
from playbooks import services
from playbooks.models import Execution, HoldoutDraw, Playbook, Trigger
from playbooks.selectors import account_facts
from playbooks.services import trigger_create, trigger_holdout_stop, triggers_evaluate
from tests.api.helpers import api, error_of, new_key
from tests.conftest import DEMO_TODAY, signed_in_client

ANY_BAND = {"type": "band_in", "bands": ["healthy", "risk", "critical"]}
NOW = timezone.make_aware(dt.datetime.combine(DEMO_TODAY, dt.time(9)))


@pytest.fixture
def rolls(monkeypatch):
    """Draws alternate low (held out at share 0.5) and high (runs)."""
    values = itertools.cycle([0.1, 0.9])
    monkeypatch.setattr(services, "holdout_roll", lambda: next(values))


def holding_out(**extra) -> Trigger:
    """The only enabled trigger (the catalog's defaults would open runs of their own)."""
    Trigger.objects.update(enabled=False)
    return trigger_create(
        playbook=Playbook.objects.get(key="adoption_rescue"),
        condition=ANY_BAND,
        action=Trigger.Action.AUTO_START,
        cooldown_days=30,
        fallback_owner="admin",  # the demo accounts' owners are not teammates
        holdout_share=0.5,
        holdout_reason="Measure the playbook against accounts that do not get it.",
        **extra,
    )


def runs_of(trigger: Trigger) -> set[int]:
    runs = Execution.objects.filter(started_by=f"trigger:{trigger.pk}")
    return set(runs.values_list("account_id", flat=True))


def test_held_out_accounts_get_no_run(alice_data, rolls):
    with schema_context("alice"):
        trigger = holding_out()
        triggers_evaluate(now=NOW)

        draws = HoldoutDraw.objects.filter(trigger=trigger)
        held_out = set(draws.filter(held_out=True).values_list("account_id", flat=True))
        assert draws.count() == Account.objects.count() == 25
        assert len(held_out) >= 10  # every other draw, minus protected accounts
        assert runs_of(trigger) == set(Account.objects.values_list("pk", flat=True)) - held_out
        # The firing is recorded all the same, so the cooldown applies to held-out accounts too.
        assert trigger.firings.count() == 25


def test_a_draw_never_changes_on_re_evaluation(alice_data, monkeypatch):
    with schema_context("alice"):
        trigger = holding_out()
        monkeypatch.setattr(services, "holdout_roll", lambda: 0.1)
        triggers_evaluate(now=NOW)
        first = dict(HoldoutDraw.objects.values_list("account_id", "held_out"))

        monkeypatch.setattr(services, "holdout_roll", lambda: 0.9)  # would draw every account in
        Execution.objects.update(status=Execution.Status.COMPLETED)
        triggers_evaluate(now=NOW + dt.timedelta(days=31))  # past the cooldown: it fires again

        assert dict(HoldoutDraw.objects.values_list("account_id", "held_out")) == first
        assert trigger.firings.count() == 50
        assert not runs_of(trigger) & {account for account, held in first.items() if held}


def test_a_critical_account_renewing_within_30_days_is_never_held_out(alice_data, monkeypatch):
    monkeypatch.setattr(services, "holdout_roll", lambda: 0.0)  # every draw holds out
    with schema_context("alice"):
        critical = next(pk for pk, facts in account_facts().items() if facts["band"] == "critical")
        Account.objects.filter(pk=critical).update(renewal_date=DEMO_TODAY + dt.timedelta(days=12))
        trigger = holding_out()
        triggers_evaluate(now=NOW)

        draw = HoldoutDraw.objects.get(trigger=trigger, account_id=critical)
        assert not draw.held_out and draw.kept_because == "critical with its renewal in 12 days"
        assert runs_of(trigger) == {critical}


def test_the_admin_may_hold_out_near_renewal_critical_accounts_too(alice_data, monkeypatch):
    monkeypatch.setattr(services, "holdout_roll", lambda: 0.0)
    with schema_context("alice"):
        critical = next(pk for pk, facts in account_facts().items() if facts["band"] == "critical")
        Account.objects.filter(pk=critical).update(renewal_date=DEMO_TODAY + dt.timedelta(days=12))
        trigger = holding_out(holdout_critical_renewals=True)
        triggers_evaluate(now=NOW)
        assert HoldoutDraw.objects.get(trigger=trigger, account_id=critical).held_out
        assert runs_of(trigger) == set()


def test_held_out_accounts_get_their_run_once_the_delay_has_passed(alice_data, rolls):
    with schema_context("alice"):
        trigger = holding_out(holdout_delay_days=45)
        triggers_evaluate(now=NOW)
        held_out = set(HoldoutDraw.objects.filter(held_out=True).values_list("account_id", flat=True))
        triggers_evaluate(now=NOW + dt.timedelta(days=44))
        assert not runs_of(trigger) & held_out

        triggers_evaluate(now=NOW + dt.timedelta(days=45))
        triggers_evaluate(now=NOW + dt.timedelta(days=46))  # started once, not again
        assert held_out <= runs_of(trigger)
        assert Execution.objects.filter(
            started_by=f"trigger:{trigger.pk}", account_id__in=held_out
        ).count() == len(held_out)
        assert HoldoutDraw.objects.filter(held_out=True, delayed_run_at__isnull=True).count() == 0


def test_after_holding_out_stops_every_account_it_fires_for_runs(alice_data, monkeypatch):
    monkeypatch.setattr(services, "holdout_roll", lambda: 0.0)  # every draw holds out
    with schema_context("alice"):
        trigger = holding_out()
        first, *others = Account.objects.order_by("pk").values_list("pk", flat=True)
        triggers_evaluate(account_ids=[first], now=NOW)
        trigger_holdout_stop(trigger=Trigger.objects.get(pk=trigger.pk))
        triggers_evaluate(now=NOW)

        assert list(HoldoutDraw.objects.values_list("account_id", "held_out")) == [(first, True)]
        assert runs_of(trigger) == set(others)


@pytest.mark.parametrize(
    ("holdout", "field"),
    [
        ({"holdout_share": 0.8, "holdout_reason": "x"}, "holdout_share"),
        ({"holdout_share": 0.2}, "holdout_reason"),
        ({"holdout_share": 0.2, "holdout_reason": "x", "holdout_delay_days": 400}, "holdout_delay_days"),
    ],
)
def test_a_bad_holdout_is_a_400_naming_the_field(alice, holdout, field):
    body = {"playbook": "adoption_rescue", "condition": ANY_BAND, **holdout}
    response = api(new_key(alice)).post("/api/v1/triggers/", body, content_type="application/json")
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == [field]


def test_the_holdout_is_set_and_stopped_over_the_api(alice):
    client = api(new_key(alice))
    holdout = {"holdout_share": 0.15, "holdout_delay_days": 60, "holdout_reason": "Prove it works."}
    body = {"playbook": "adoption_rescue", "condition": ANY_BAND, **holdout}
    created = client.post("/api/v1/triggers/", body, content_type="application/json").json()
    assert (created["holdout_share"], created["holdout_delay_days"]) == (0.15, 60)
    stopped = client.patch(
        f"/api/v1/triggers/{created['id']}/", {"holdout_share": 0}, content_type="application/json"
    )
    assert stopped.status_code == 200 and stopped.json()["holdout_share"] == 0


def test_an_admin_stops_holding_out_from_the_workspace_admin(alice):
    with schema_context("alice"):
        trigger = holding_out()
    response = signed_in_client("alice").post(
        "/admin/playbooks/trigger/", {"action": "stop_holding_out", "_selected_action": [trigger.pk]}
    )
    assert response.status_code == 302
    with schema_context("alice"):
        assert Trigger.objects.get(pk=trigger.pk).holdout_share == 0
