"""Sign-in throttling: the portal, the tenant admin and the staff back office lock an account out
for one address after a few wrong passwords, per workspace, until the cool-off or an unlock."""

import datetime as dt
import math
import re

import pytest
import requests
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import F
from django.test import Client

from tests.conftest import PASSWORD, host_client, signed_in_client, tenant_member
from tests.live_server import gunicorn

LIMIT = settings.AXES_FAILURE_LIMIT
LOCKED = "Too many failed sign-ins for this account from your address. Try again at "
STAFF_PASSWORD = "password"  # pytest-django's admin_user
ELSEWHERE = "198.51.100.7"


def sign_in(client: Client, path: str, username: str, password: str):
    # The admin's login page posts where to go next, as a browser would.
    landing = {"next": "/admin/"} if path.startswith("/admin/") else {}
    return client.post(path, {"username": username, "password": password, **landing})


def lock_out(client: Client, path: str, username: str) -> None:
    for _ in range(LIMIT):
        response = sign_in(client, path, username, "wrong-password-1")
    assert response.status_code == 429


def test_the_portal_locks_an_account_out_after_the_failure_limit(alice):
    client = host_client("alice")
    statuses = [sign_in(client, "/login/", "admin", f"wrong-{n}").status_code for n in range(30)]

    assert statuses == [200] * (LIMIT - 1) + [429] * (30 - LIMIT + 1)
    right = sign_in(client, "/login/", "admin", PASSWORD)
    assert right.status_code == 429
    page = right.content.decode()
    assert "Sign in to Alice Inc" in page and LOCKED in page
    assert "or ask your workspace admin to unlock it." in page
    assert client.get("/").status_code == 302  # still signed out


def test_the_message_says_when_to_retry(alice):
    client = host_client("alice")
    lock_out(client, "/login/", "admin")
    page = sign_in(client, "/login/", "admin", PASSWORD).content.decode()

    last_failure = AccessAttempt.objects.get().attempt_time
    retry_at = last_failure + settings.AXES_COOLOFF_TIME
    minute = retry_at.replace(second=0, microsecond=0)
    minute += dt.timedelta(minutes=1) if minute < retry_at else dt.timedelta()
    cool_off_minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    assert f"{LOCKED}{minute:%H:%M} UTC (in {cool_off_minutes} minutes)" in page


def test_refused_attempts_during_a_lockout_do_not_push_the_retry_time_back(alice):
    client = host_client("alice")
    lock_out(client, "/login/", "admin")
    locked_at = AccessAttempt.objects.get().attempt_time
    for _ in range(3):
        sign_in(client, "/login/", "admin", PASSWORD)

    assert AccessAttempt.objects.get().attempt_time == locked_at


@pytest.mark.parametrize("identifier", ["admin@alice.example.com", "ADMIN@Alice.Example.com"])
def test_an_email_address_counts_against_the_account_it_names(alice, identifier):
    client = host_client("alice")
    for _ in range(LIMIT - 1):
        sign_in(client, "/login/", "admin", "wrong-password-1")

    response = sign_in(client, "/login/", identifier, "wrong-password-1")
    assert response.status_code == 429
    assert sign_in(client, "/login/", "admin", PASSWORD).status_code == 429


def test_the_tenant_admin_sign_in_locks_out_too(alice):
    client = host_client("alice")
    lock_out(client, "/admin/login/", "admin")

    response = sign_in(client, "/admin/login/", "admin", PASSWORD)
    assert response.status_code == 429
    assert "Pulse — workspace administration" in response.content.decode()
    assert LOCKED in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_the_staff_back_office_sign_in_locks_out_too(public, admin_user):
    client = host_client(None)
    lock_out(client, "/admin/login/", "admin")

    response = sign_in(client, "/admin/login/", "admin", STAFF_PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Pulse back office" in page and LOCKED in page
    assert "or ask another Pulse staff member to unlock it." in page
    assert client.get("/admin/").status_code == 302


def test_a_lockout_on_one_workspace_leaves_the_same_username_elsewhere_alone(alice, bob, admin_user):
    lock_out(host_client("alice"), "/login/", "admin")

    assert sign_in(host_client("bob"), "/login/", "admin", PASSWORD).status_code == 302
    assert sign_in(host_client("bob"), "/admin/login/", "admin", PASSWORD).status_code == 302
    assert sign_in(host_client(None), "/admin/login/", "admin", STAFF_PASSWORD).status_code == 302


def test_a_lockout_of_staff_leaves_workspace_users_of_that_name_alone(alice, admin_user):
    lock_out(host_client(None), "/admin/login/", "admin")

    assert sign_in(host_client("alice"), "/login/", "admin", PASSWORD).status_code == 302


def test_a_lockout_leaves_the_same_account_from_another_address_alone(alice):
    lock_out(host_client("alice"), "/login/", "admin")

    elsewhere = Client(HTTP_HOST="alice.localhost", REMOTE_ADDR=ELSEWHERE)
    assert sign_in(elsewhere, "/login/", "admin", PASSWORD).status_code == 302


def test_the_lockout_ends_after_the_cool_off(alice):
    client = host_client("alice")
    lock_out(client, "/login/", "admin")
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME)

    assert sign_in(client, "/login/", "admin", PASSWORD).status_code == 302


def test_a_successful_sign_in_forgets_earlier_failures(alice):
    client = host_client("alice")
    for _ in range(LIMIT - 1):
        sign_in(client, "/login/", "admin", "wrong-password-1")
    assert sign_in(client, "/login/", "admin", PASSWORD).status_code == 302

    assert sign_in(host_client("alice"), "/login/", "admin", "wrong-password-1").status_code == 200


def test_the_lockout_holds_across_web_workers(committed_tenants):
    committed_tenants("alice")
    with gunicorn(workers=2, threads=1) as base_url, requests.Session() as browser:
        browser.headers["Host"] = "alice.localhost"

        def attempt(password: str) -> requests.Response:
            page = browser.get(f"{base_url}/login/").text
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
            form = {"csrfmiddlewaretoken": token, "username": "admin", "password": password}
            return browser.post(f"{base_url}/login/", data=form, allow_redirects=False)

        statuses = [attempt(f"wrong-{n}").status_code for n in range(LIMIT + 3)]
        right = attempt(PASSWORD)

    assert statuses == [200] * (LIMIT - 1) + [429] * 4
    assert right.status_code == 429 and LOCKED in right.text


# --- Client address ---------------------------------------------------------------------------


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(alice):
    lock_out(host_client("alice"), "/login/", "admin")

    spoofing = Client(HTTP_HOST="alice.localhost", HTTP_X_FORWARDED_FOR=ELSEWHERE)
    assert sign_in(spoofing, "/login/", "admin", PASSWORD).status_code == 429


def via_proxy(forwarded_for: str) -> Client:
    """A client behind our proxy on 127.0.0.1, which appended the address it saw."""
    return Client(HTTP_HOST="alice.localhost", HTTP_X_FORWARDED_FOR=forwarded_for)


def test_behind_a_trusted_proxy_the_address_is_the_one_the_proxy_saw(alice, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    lock_out(via_proxy("203.0.113.9"), "/login/", "admin")

    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"
    assert sign_in(via_proxy(ELSEWHERE), "/login/", "admin", PASSWORD).status_code == 302
    # What the client itself put in front of the proxy's entry changes nothing.
    forged = via_proxy(f"{ELSEWHERE}, 203.0.113.9")
    assert sign_in(forged, "/login/", "admin", PASSWORD).status_code == 429


def test_behind_two_trusted_proxies_the_second_entry_from_the_right_is_the_client(alice, settings):
    settings.TRUSTED_PROXY_COUNT = 2
    lock_out(via_proxy("10.9.9.9, 203.0.113.9, 10.0.0.2"), "/login/", "admin")

    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"


@pytest.mark.parametrize("forwarded_for", ["", "not-an-address", "unknown, 203.0.113.9"])
def test_a_missing_or_malformed_forwarded_address_falls_back_to_the_peer(alice, settings, forwarded_for):
    settings.TRUSTED_PROXY_COUNT = 2
    lock_out(via_proxy(forwarded_for), "/login/", "admin")

    assert AccessAttempt.objects.get().ip_address == "127.0.0.1"


# --- Unlock -----------------------------------------------------------------------------------


@pytest.fixture
def staff(admin_user, public):
    client = host_client(None)
    client.force_login(admin_user)
    return client


def unlock(client: Client, attempts) -> None:
    selected = [attempt.pk for attempt in attempts]
    response = client.post("/admin/axes/accessattempt/", {"action": "unlock", "_selected_action": selected})
    assert response.status_code == 302


def test_staff_see_and_unlock_a_lockout_in_the_back_office(alice, staff):
    user = host_client("alice")
    lock_out(user, "/login/", "admin")

    assert "Sign-in lockouts" in staff.get("/admin/").content.decode()
    page = staff.get("/admin/axes/accessattempt/").content.decode()
    assert "alice" in page and "127.0.0.1" in page and "Unlock" in page
    unlock(staff, AccessAttempt.objects.all())

    assert sign_in(user, "/login/", "admin", PASSWORD).status_code == 302


def test_unlocking_covers_every_browser_of_that_account_and_address(alice, staff):
    lock_out(Client(HTTP_HOST="alice.localhost", HTTP_USER_AGENT="Firefox"), "/login/", "admin")
    sign_in(Client(HTTP_HOST="alice.localhost", HTTP_USER_AGENT="Chrome"), "/login/", "admin", "wrong-1")

    unlock(staff, AccessAttempt.objects.filter(user_agent="Firefox"))
    assert not AccessAttempt.objects.exists()


def test_staff_cannot_delete_attempts_around_the_unlock(alice, staff):
    lock_out(host_client("alice"), "/login/", "admin")
    attempt = AccessAttempt.objects.get()

    staff.post("/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": [attempt.pk]})
    assert staff.get(f"/admin/axes/accessattempt/{attempt.pk}/delete/").status_code == 403
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


@pytest.fixture
def bob_only_locked(bob):
    tenant_member("bob", "bob-only", email="only@bob.example.com")
    lock_out(host_client("bob"), "/login/", "bob-only")
    return AccessAttempt.objects.get(username__startswith="bob:")


def test_a_workspace_admin_sees_and_unlocks_its_own_users(alice, bob_only_locked):
    tenant_member("alice", "viewer", email="v@alice.example.com")
    user = host_client("alice")
    lock_out(user, "/login/", "viewer")
    admin = signed_in_client("alice")

    assert "Sign-in lockouts" in admin.get("/admin/").content.decode()
    page = admin.get("/admin/axes/accessattempt/").content.decode()
    assert "viewer" in page and "bob-only" not in page
    unlock(admin, AccessAttempt.objects.filter(username__startswith="alice:"))

    assert sign_in(user, "/login/", "viewer", PASSWORD).status_code == 302


def test_a_workspace_admin_cannot_see_or_unlock_another_workspaces_lockout(alice, bob_only_locked):
    admin = signed_in_client("alice")

    unlock(admin, [bob_only_locked])
    assert AccessAttempt.objects.filter(pk=bob_only_locked.pk).exists()
    detail = admin.get(f"/admin/axes/accessattempt/{bob_only_locked.pk}/change/")
    assert detail.status_code == 302 and "bob-only" not in admin.get(detail["Location"]).content.decode()
    assert sign_in(host_client("bob"), "/login/", "bob-only", PASSWORD).status_code == 429
