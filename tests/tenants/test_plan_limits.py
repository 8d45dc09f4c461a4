"""A plan's limits on accounts and users hold on every way in: the services refuse, so the
workspace admin, imports and commands meet the same rule; another tenant's plan never counts."""

import threading

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from kpis.models import Account
from kpis.services import account_upsert
from tenants.limits import PlanLimitReached
from tenants.models import Plan
from tenants.services import tenant_change_plan
from tests.conftest import PASSWORD, host_client, signed_in_client, tenant_member, twice_at_once
from users.models import User


def plan_of_one(tenant) -> None:
    """One account and two users (the admin and one more) at most."""
    plan = Plan.objects.create(
        name=f"one-{tenant.schema_name}",
        max_accounts=1,
        max_documents=5,
        max_api_requests_per_month=100,
        max_users=2,
    )
    tenant_change_plan(tenant=tenant, plan=plan)


def test_the_workspace_admin_cannot_add_an_account_past_the_plan(alice):
    plan_of_one(alice)
    with schema_context("alice"):
        account_upsert(external_id="A-1", name="Acme")
    client = signed_in_client("alice")

    response = client.post(
        "/admin/kpis/account/add/",
        {"external_id": "A-2", "name": "Beta", "revenue": "10", "status": "active"},
        follow=True,
    )

    assert (
        "Your one-alice plan allows 1 accounts; this would bring the workspace to 2"
        in response.content.decode()
    )
    with schema_context("alice"):
        assert list(Account.objects.values_list("external_id", flat=True)) == ["A-1"]


def test_the_workspace_admin_cannot_add_a_user_past_the_plan(alice):
    plan_of_one(alice)
    tenant_member("alice", "second")
    client = signed_in_client("alice")

    response = client.post(
        "/admin/users/user/add/",
        {
            "username": "third",
            "role": "viewer",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
        follow=True,
    )

    assert "allows 2 users; this would bring the workspace to 3" in response.content.decode()
    with schema_context("alice"):
        assert not User.objects.filter(username="third").exists()


def test_the_user_service_refuses_past_the_plan_and_the_command_path_meets_it(alice):
    plan_of_one(alice)
    tenant_member("alice", "second")

    with pytest.raises(PlanLimitReached, match="allows 2 users"):
        tenant_member("alice", "third")


def test_an_account_at_the_limit_can_still_be_changed(alice):
    plan_of_one(alice)
    with schema_context("alice"):
        account_upsert(external_id="A-1", name="Acme")
        assert account_upsert(external_id="A-1", name="Acme Corp").name == "Acme Corp"
        with pytest.raises(PlanLimitReached):
            account_upsert(external_id="A-2", name="Beta")


def test_another_tenants_accounts_and_plan_never_count(alice, bob):
    plan_of_one(bob)
    with schema_context("bob"):
        account_upsert(external_id="B-1", name="Bob's only")
    with schema_context("alice"):
        for number in range(3):  # alice's free plan allows 25, whatever bob holds or may hold
            account_upsert(external_id=f"A-{number}", name=f"Alice {number}")
        assert Account.objects.count() == 3
    with schema_context("bob"), pytest.raises(PlanLimitReached, match="would bring the workspace to 2"):
        account_upsert(external_id="B-2", name="Bob's second")


def test_staff_users_of_the_back_office_have_no_plan_and_save_through_the_staff_service(admin_user, public):
    client = host_client(None)
    client.force_login(admin_user)

    client.post(
        "/admin/users/user/add/",
        {"username": "staff-two", "usable_password": "true", "password1": PASSWORD, "password2": PASSWORD},
    )

    assert connection.schema_name == "public"
    assert User.objects.filter(username="staff-two").exists()


def test_two_writers_racing_for_the_last_free_account_get_one_of_them(committed_tenants):
    tenant = committed_tenants("alice")
    plan_of_one(tenant)
    outcomes = []

    def add_an_account():
        try:
            account_upsert(external_id=f"A-{threading.get_ident()}", name="Racer")
            outcomes.append("added")
        except PlanLimitReached:
            outcomes.append("refused")

    twice_at_once("alice", add_an_account)

    assert sorted(outcomes) == ["added", "refused"]
    with schema_context("alice"):
        assert Account.objects.count() == 1
