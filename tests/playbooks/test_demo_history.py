"""The demo tenant's playbook history: two playbooks help, one does nothing, one is too
uncertain to call, and the pages say exactly that."""

import html
import re

from django_tenants.utils import schema_context

from kpis.demo import demo_data_load, demo_renewal_history_load
from playbooks.demo import demo_playbook_history_load
from playbooks.models import Execution, HoldoutDraw
from tests.api.helpers import api, new_key
from tests.conftest import DEMO_TODAY, signed_in_client

SAYS = {
    "Renewal Safeguard": "it helps",
    "Adoption Rescue": "it helps",
    "VoC Sprint": "no measurable effect",
    "Executive Business Review": "too uncertain to call",
}
SENTENCE = r"{name}: [+-]\d+ points at 60 days \(95% CI [+-]\d+ to [+-]\d+, \d+ vs \d+ accounts\): {says}\."


def test_the_pages_say_which_playbooks_help_which_do_nothing_and_which_are_too_uncertain(alice):
    with schema_context("alice"):
        demo_data_load(today=DEMO_TODAY)
        demo_renewal_history_load(today=DEMO_TODAY)
        demo_playbook_history_load(today=DEMO_TODAY)
        assert HoldoutDraw.objects.filter(held_out=True).count() >= 100
        for draw in HoldoutDraw.objects.filter(held_out=True):  # held out: no run from that trigger
            assert not Execution.objects.filter(
                account=draw.account_id, started_by=f"trigger:{draw.trigger_id}"
            )
    client = signed_in_client("alice")

    listing = html.unescape(client.get("/playbooks/").content.decode())
    for name, says in SAYS.items():
        assert re.search(SENTENCE.format(name=re.escape(name), says=says), listing), name
    order = [listing.index(f">{name}</a>") for name in SAYS]
    assert max(order[:2]) < min(order[2:])  # the two that help come first
    assert "Expansion Timing: not enough runs yet: 0 of the 20 needed." in listing

    page = html.unescape(client.get("/playbooks/renewal_safeguard/").content.decode())
    assert "Compared with held-out accounts." in page and 'id="effect"' in page
    assert "Holds out 20% of the accounts it fires for, who get no run" in page

    body = api(new_key(alice)).get("/api/v1/playbooks/voc_sprint/effectiveness/").json()
    assert body["verdict"] == "no_effect" and body["comparison"] == "held_out"
