"""Settings → Notifications: every signed-in user picks what they are e-mailed about."""

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from tests.conftest import host_client, signed_in_client, tenant_member
from users.models import User
from users.services import user_notifications_set


def choices_of(slug: str, username: str) -> tuple[bool, bool, bool]:
    with schema_context(slug):
        user = User.objects.get(username=username)
        return user.notify_on_assignment, user.notify_when_due, user.notify_daily_digest


def test_a_new_user_hears_of_assignments_and_due_steps_but_gets_no_digest(alice):
    tenant_member("alice", "mia")
    assert choices_of("alice", "mia") == (True, True, False)


def test_a_viewer_changes_only_their_own_choices_on_the_page(alice):
    tenant_member("alice", "mia", role="viewer")
    client = signed_in_client("alice", username="mia")
    page = client.get("/settings/notifications/")
    assert page.status_code == 200 and "daily digest" in page.content.decode()

    # An unticked box is absent from a posted form: this turns assignment mail off, the digest on.
    response = client.post("/settings/notifications/", {"notify_when_due": "on", "notify_daily_digest": "on"})

    assert response.status_code == 302 and response["Location"] == "/settings/notifications/"
    assert choices_of("alice", "mia") == (False, True, True)
    assert choices_of("alice", "admin") == (True, True, False)


def test_the_settings_menu_links_the_page(alice):
    assert 'href="/settings/notifications/"' in signed_in_client("alice").get("/").content.decode()


def test_signed_out_visitors_are_sent_to_sign_in(alice):
    response = host_client("alice").get("/settings/notifications/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_another_tenants_choices_stay_untouched(alice, bob):
    signed_in_client("alice").post("/settings/notifications/", {})
    assert choices_of("alice", "admin") == (False, False, False)
    assert choices_of("bob", "admin") == (True, True, False)


def test_the_service_refuses_an_unknown_choice_and_changes_nothing(alice):
    with schema_context("alice"):
        user = User.objects.get(username="admin")
        with pytest.raises(ValidationError, match="Not a notification choice"):
            user_notifications_set(user=user, choices={"notify_daily_digest": True, "notify_by_fax": True})
    assert choices_of("alice", "admin") == (True, True, False)


def test_a_user_without_an_address_is_told_nothing_can_be_sent(alice):
    tenant_member("alice", "noor", email="")
    page = signed_in_client("alice", username="noor").get("/settings/notifications/").content.decode()
    assert "You have no e-mail address yet" in page
