"""A playbook's measured effect (selectors + API): ran vs held out, or vs matched same-band
accounts where nothing is held out, with intervals, counts and a plain sentence."""

import datetime as dt

from django.template.defaultfilters import floatformat
from django.utils import timezone
from django_tenants.utils import schema_context

from kpis.models import Account
from playbooks.models import HoldoutDraw, Playbook, Trigger
from playbooks.selectors import execution_comparison, playbook_effectiveness
from playbooks.services import execution_start
from tests.api.helpers import api, new_key
from tests.conftest import DEMO_TODAY, signed_in_client

DRAWN = timezone.make_aware(dt.datetime.combine(DEMO_TODAY - dt.timedelta(days=200), dt.time(9)))


def drawn(held_out: int, delay_days: int = 0, slug: str = "alice") -> Playbook:
    """Every account drawn 200 days ago by each of two triggers of Adoption Rescue; the first
    `held_out` of them held out by each."""
    with schema_context(slug):
        playbook = Playbook.objects.get(key="adoption_rescue")
        for band in ("risk", "critical"):
            trigger = Trigger.objects.create(
                playbook=playbook,
                condition={"type": "band_in", "bands": [band]},
                holdout_share=0.2,
                holdout_reason="x",
            )
            HoldoutDraw.objects.bulk_create(
                HoldoutDraw(
                    trigger=trigger,
                    account=account,
                    held_out=i < held_out,
                    drawn_at=DRAWN,
                    delay_days=delay_days,
                )
                for i, account in enumerate(Account.objects.order_by("pk"))
            )
        return playbook


def test_the_api_gives_each_window_ran_vs_held_out_with_interval_and_counts(alice_data):
    drawn(held_out=5)
    body = api(new_key(alice_data)).get("/api/v1/playbooks/adoption_rescue/effectiveness/").json()

    assert body["playbook"] == "adoption_rescue" and body["comparison"] == "held_out"
    assert set(body["health_change"]) == {"30", "60", "90"}
    for window in body["health_change"].values():
        assert (window["ran"], window["comparison"]) == (40, 10)
        assert window["low"] <= window["effect"] <= window["high"]
        assert window["effect"] == round(window["ran_mean"] - window["comparison_mean"], 1)
    assert body["sentence"].startswith("Adoption Rescue: ") and "40 vs 10 accounts" in body["sentence"]
    assert body["verdict"] in {"helps", "hurts", "no_effect", "uncertain"}


def test_the_same_data_gives_the_same_figures(alice_data):
    playbook = drawn(held_out=5)
    with schema_context("alice"):
        assert playbook_effectiveness(playbook) == playbook_effectiveness(playbook)


def test_a_held_out_account_with_a_delayed_run_counts_only_until_that_run(alice_data):
    playbook = drawn(held_out=5, delay_days=45)
    with schema_context("alice"):
        health = playbook_effectiveness(playbook)["health_change"]
    assert [health[window]["comparison"] for window in (30, 60, 90)] == [10, 0, 0]
    assert health[60]["verdict"] == "not_enough"


def test_without_holdouts_runs_are_compared_with_matched_same_band_accounts(alice_data):
    """On the demo set: enough critical accounts to find three matches for one run."""
    with schema_context("alice"):
        techcorp = Account.objects.get(name="TechCorp Solutions")
        playbook = Playbook.objects.get(key="renewal_safeguard")
        execution = execution_start(playbook=playbook, account=techcorp, started_by="user:maya")
        when = timezone.make_aware(dt.datetime.combine(DEMO_TODAY - dt.timedelta(days=120), dt.time(9)))
        type(execution).objects.filter(pk=execution.pk).update(started_at=when)
        found = playbook_effectiveness(playbook)
    assert found["comparison"] == "same_band"
    assert found["health_change"][30]["ran"] == 1 and found["health_change"][30]["comparison"] == 3
    assert found["sentence"] == "Renewal Safeguard: not enough runs yet: 1 of the 20 needed."


def test_another_tenants_holdouts_and_runs_change_nothing_here(alice_data, bob):
    from kpis.demo import demo_data_load

    with schema_context("bob"):
        demo_data_load(today=DEMO_TODAY)
    drawn(held_out=5, slug="bob")
    with schema_context("alice"):
        found = playbook_effectiveness(Playbook.objects.get(key="adoption_rescue"))
    assert found["comparison"] == "same_band" and found["health_change"][60]["ran"] == 0
    page = api(new_key(alice_data)).get("/api/v1/playbooks/adoption_rescue/effectiveness/").json()
    assert page["health_change"]["60"]["comparison"] == 0


def test_the_report_shows_how_this_account_moved_against_its_comparison_group(alice_data):
    playbook = drawn(held_out=5)
    with schema_context("alice"):
        account = Account.objects.order_by("pk").last()  # drawn to run
        execution = execution_start(playbook=playbook, account=account, started_by="trigger:1")
        type(execution).objects.filter(pk=execution.pk).update(started_at=DRAWN)
        rows = execution_comparison(type(execution).objects.get(pk=execution.pk))
    assert [row["comparison_accounts"] for row in rows] == [10, 10, 10]
    assert all(row["account"] is not None for row in rows)

    page = signed_in_client("alice").get(f"/executions/{execution.pk}/report/").content.decode()
    assert "This account against its comparison group" in page
    for row in rows:
        assert f"<td>{row['window']} days</td><td>{floatformat(row['account'], 1)}</td>" in page
        assert f"{row['comparison']} ({row['comparison_accounts']})" in page
