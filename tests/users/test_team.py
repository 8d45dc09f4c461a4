"""Settings → Team: admins invite teammates by e-mail (a one-time link that expires), change
their roles, deactivate and reactivate them; the link works once, on its own workspace only."""

import email
import re
from unittest import mock

import pytest
from aiosmtpd.controller import Controller
from django.core import signing
from django_tenants.utils import schema_context

from tests.conftest import PASSWORD, host_client, signed_in_client, tenant_member
from tests.live_server import free_port
from users.invitations import INVITE_MAX_AGE
from users.models import User

NEW_PASSWORD = "violet-lantern-harbour-77"


class Mailbox:
    """aiosmtpd's handler: keeps every message it receives."""

    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def mailbox(settings):
    """A local SMTP server that Pulse's e-mail settings point at."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    yield box
    controller.stop()


@pytest.fixture
def no_mail_server(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()


def invite(client, email_address="nina@alice.example.com", role="manager") -> str:
    page = client.post("/settings/team/", {"email": email_address, "full_name": "Nina N", "role": role})
    assert page.status_code == 200
    return re.search(r'<pre class="secret">([^<]+)</pre>', page.content.decode()).group(1)


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def set_password(client, link: str, password: str = NEW_PASSWORD):
    return client.post(path_of(link), {"new_password1": password, "new_password2": password})


def test_an_invited_teammate_gets_the_link_by_email_sets_a_password_and_signs_in(alice, mailbox):
    link = invite(signed_in_client("alice"))

    (message,) = mailbox.messages
    assert message["To"] == "nina@alice.example.com"
    assert link in message.get_payload(decode=True).decode()
    with schema_context("alice"):
        nina = User.objects.get(email="nina@alice.example.com")
        assert nina.role == "manager" and not nina.has_usable_password()
    assert host_client("alice").post("/login/", {"username": nina.email, "password": ""}).status_code == 200

    newcomer = host_client("alice")
    assert set_password(newcomer, link)["Location"] == "/"
    assert newcomer.get("/").status_code == 200
    fresh = host_client("alice")
    assert (
        fresh.post("/login/", {"username": "nina@alice.example.com", "password": NEW_PASSWORD}).status_code
        == 302
    )


def test_without_a_mail_server_the_admin_is_told_and_still_sees_the_link_once(alice, no_mail_server):
    admin = signed_in_client("alice")
    page = admin.post(
        "/settings/team/", {"email": "nina@alice.example.com", "role": "viewer"}
    ).content.decode()

    assert "could not be sent" in page
    assert "/invite/" in page
    assert "/invite/" not in admin.get("/settings/team/").content.decode()


def test_the_link_works_once(alice, mailbox):
    link = invite(signed_in_client("alice"))
    assert set_password(host_client("alice"), link).status_code == 302

    again = set_password(host_client("alice"), link, password="another-secret-phrase-91")
    assert again.status_code == 404
    assert "no longer works" in again.content.decode()


def test_an_expired_link_is_refused(alice, mailbox):
    link = invite(signed_in_client("alice"))
    later = signing.time.time() + INVITE_MAX_AGE.total_seconds() + 60
    with mock.patch("django.core.signing.time.time", return_value=later):
        response = set_password(host_client("alice"), link)

    assert response.status_code == 404
    with schema_context("alice"):
        assert not User.objects.get(email="nina@alice.example.com").has_usable_password()


def test_a_link_of_one_workspace_does_nothing_on_another(alice, bob, mailbox):
    tenant_member("bob", "bobby")  # bob's schema has a user with the same primary key as nina's
    link = invite(signed_in_client("alice"))
    response = set_password(host_client("bob"), link)

    assert response.status_code == 404
    with schema_context("bob"):
        assert all(user.check_password(PASSWORD) for user in User.objects.all())


def test_a_new_link_replaces_the_old_one(alice, mailbox):
    admin = signed_in_client("alice")
    first = invite(admin)
    with schema_context("alice"):
        nina = User.objects.get(email="nina@alice.example.com")
    page = admin.post(f"/settings/team/{nina.pk}/", {"action": "relink"}).content.decode()
    second = re.search(r'<pre class="secret">([^<]+)</pre>', page).group(1)

    assert set_password(host_client("alice"), first).status_code == 404
    assert set_password(host_client("alice"), second).status_code == 302


def test_inviting_someone_already_on_the_team_says_so(alice, mailbox):
    page = signed_in_client("alice").post(
        "/settings/team/", {"email": "ADMIN@alice.example.com", "role": "viewer"}
    )
    assert page.status_code == 200
    assert "already on this team" in page.content.decode()
    assert not mailbox.messages


def test_the_plan_limit_holds_for_invitations(alice, mailbox, settings):
    from tenants.models import Tenant

    limit = Tenant.objects.get(schema_name="alice").plan.max_users
    for n in range(limit - 1):
        tenant_member("alice", f"member{n}")
    page = signed_in_client("alice").post(
        "/settings/team/", {"email": "one.more@alice.example.com", "role": "viewer"}
    )

    assert page.status_code == 200
    assert f"plan allows {limit} users" in page.content.decode()
    assert "/invite/" not in page.content.decode()
    with schema_context("alice"):
        assert not User.objects.filter(email="one.more@alice.example.com").exists()


def test_roles_change_and_a_manager_cannot_manage_the_team(alice):
    tenant_member("alice", "mia", role=User.Role.VIEWER)
    admin = signed_in_client("alice")
    with schema_context("alice"):
        mia = User.objects.get(username="mia")
    admin.post(f"/settings/team/{mia.pk}/", {"action": "role", "role": "manager"})

    with schema_context("alice"):
        assert User.objects.get(pk=mia.pk).role == "manager"
    as_mia = signed_in_client("alice", username="mia")
    assert as_mia.get("/settings/team/").status_code == 403
    assert as_mia.post(f"/settings/team/{mia.pk}/", {"action": "role", "role": "admin"}).status_code == 403


def test_a_deactivated_teammate_cannot_sign_in_and_is_signed_out_until_reactivated(alice):
    tenant_member("alice", "mia")
    as_mia = signed_in_client("alice", username="mia")
    with schema_context("alice"):
        mia = User.objects.get(username="mia")
    admin = signed_in_client("alice")

    admin.post(f"/settings/team/{mia.pk}/", {"action": "deactivate"})
    assert as_mia.get("/")["Location"].startswith("/login/")
    assert host_client("alice").post("/login/", {"username": "mia", "password": PASSWORD}).status_code == 200

    admin.post(f"/settings/team/{mia.pk}/", {"action": "reactivate"})
    assert host_client("alice").post("/login/", {"username": "mia", "password": PASSWORD}).status_code == 302


def test_the_last_admin_cannot_be_demoted_or_deactivated_and_nobody_changes_themselves(alice):
    admin = signed_in_client("alice")
    with schema_context("alice"):
        me = User.objects.get(username="admin")
    response = admin.post(f"/settings/team/{me.pk}/", {"action": "deactivate"}, follow=True)

    assert "cannot deactivate yourself" in response.content.decode()
    with schema_context("alice"):
        assert User.objects.get(pk=me.pk).is_active


def test_an_admin_cannot_change_another_workspaces_user(alice, bob):
    bobby = tenant_member("bob", "bobby")
    response = signed_in_client("alice").post(f"/settings/team/{bobby.pk}/", {"action": "deactivate"})

    assert response.status_code == 404
    with schema_context("bob"):
        assert User.objects.get(username="bobby").is_active


def test_the_team_page_lists_only_this_workspaces_people(alice, bob):
    tenant_member("bob", "bob-only-person", email="secret@bob.example.com")
    page = signed_in_client("alice").get("/settings/team/").content.decode()
    assert "bob-only-person" not in page and "secret@bob.example.com" not in page
    assert "admin@alice.example.com" in page


def test_a_deactivated_invitees_link_stops_working_and_gets_no_new_one(alice, mailbox):
    admin = signed_in_client("alice")
    link = invite(admin)
    with schema_context("alice"):
        nina = User.objects.get(email="nina@alice.example.com")
    admin.post(f"/settings/team/{nina.pk}/", {"action": "deactivate"})
    refused = admin.post(f"/settings/team/{nina.pk}/", {"action": "relink"}, follow=True).content.decode()

    assert set_password(host_client("alice"), link).status_code == 404
    assert "is deactivated; reactivate them first" in refused
    assert len(mailbox.messages) == 1
