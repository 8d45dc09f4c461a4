"""Numbers people read: money in the workspace's currency, whole units, thousands separated."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django_tenants.utils import schema_context

from kpis.services import account_upsert
from kpis.templatetags.pulse_tags import money
from tenants.models import Tenant
from tests.conftest import signed_in_client, tenant_member
from users.models import User


@pytest.mark.parametrize(
    ("amount", "currency", "written"),
    [
        (518854.4, "USD", "$518,854"),
        (Decimal("1200000.50"), "EUR", "€1,200,000"),
        (-2500, "GBP", "-£2,500"),
        (1200, "CHF", "1,200 CHF"),
        (None, "USD", "—"),
    ],
)
def test_money_is_whole_units_with_separators_in_the_workspace_currency(amount, currency, written):
    assert money(amount, SimpleNamespace(currency=currency)) == written


def accounts_page(slug: str) -> str:
    return signed_in_client(slug).get("/accounts/").content.decode()


def test_an_admin_sets_the_currency_and_only_their_workspace_changes(alice, bob):
    for slug in ("alice", "bob"):
        with schema_context(slug):
            account_upsert(external_id="A-1", name="Globex", revenue=Decimal("1234567"))

    response = signed_in_client("alice").post("/settings/workspace/", {"currency": "EUR"})

    assert response.status_code == 302
    assert Tenant.objects.get(schema_name="alice").currency == "EUR"
    assert "€1,234,567" in accounts_page("alice")
    assert "$1,234,567" in accounts_page("bob") and Tenant.objects.get(schema_name="bob").currency == "USD"


def test_an_unknown_currency_is_refused_on_the_form(alice):
    response = signed_in_client("alice").post("/settings/workspace/", {"currency": "XYZ"})

    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert Tenant.objects.get(schema_name="alice").currency == "USD"


def test_only_admins_change_the_currency(alice):
    tenant_member("alice", "mia", role=User.Role.MANAGER)

    response = signed_in_client("alice", username="mia").post("/settings/workspace/", {"currency": "EUR"})

    assert response.status_code == 403
    assert Tenant.objects.get(schema_name="alice").currency == "USD"
