from django.test import Client
from django_tenants.utils import schema_context

from tests.conftest import PASSWORD, host_client, signed_in_client, tenant_member
from users.models import User


def test_an_admin_signs_in_with_username_or_email(alice):
    for identifier in ("admin", "admin@alice.example.com"):
        client = host_client("alice")
        response = client.post("/login/", {"username": identifier, "password": PASSWORD})
        assert response.status_code == 302
        assert client.get("/").status_code == 200


def test_a_wrong_password_is_refused_with_a_message(alice):
    response = host_client("alice").post("/login/", {"username": "admin", "password": "nope-nope-nope"})

    assert response.status_code == 200
    assert "enter a correct" in response.content.decode()


def test_a_session_of_tenant_a_does_not_authenticate_on_tenant_b(alice, bob):
    client = signed_in_client("alice")
    session_cookie = client.cookies["sessionid"].value

    replay = host_client("bob")
    replay.cookies["sessionid"] = session_cookie
    response = replay.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_user_of_tenant_a_cannot_sign_in_on_tenant_b(alice, bob):
    tenant_member("alice", "only-alice")

    response = host_client("bob").post("/login/", {"username": "only-alice", "password": PASSWORD})
    assert response.status_code == 200
    assert "enter a correct" in response.content.decode()


def test_sign_out_ends_the_session(alice):
    client = signed_in_client("alice")
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_a_user_flagged_must_change_password_is_sent_to_the_change_page(alice):
    tenant_member("alice", "newbie", must_change_password=True)
    client = signed_in_client("alice", username="newbie")

    assert client.get("/")["Location"] == "/password/"
    response = client.post(
        "/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "violet-harbor-57-lamp",
            "new_password2": "violet-harbor-57-lamp",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    with schema_context("alice"):
        assert not User.objects.get(username="newbie").must_change_password


def test_a_weak_new_password_is_refused(alice):
    client = signed_in_client("alice")
    response = client.post(
        "/password/", {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"}
    )
    assert "too short" in response.content.decode()


def test_passwords_are_hashed_with_argon2(alice):
    with schema_context("alice"):
        assert User.objects.get(username="admin").password.startswith("argon2$argon2id$")


def test_the_tenant_admin_site_shows_only_its_own_users(alice, bob):
    tenant_member("bob", "bob-secret-user")
    client = signed_in_client("alice")

    response = client.get("/admin/users/user/")
    assert response.status_code == 200
    assert "bob-secret-user" not in response.content.decode()
    assert client.get("/admin/tenants/tenant/").status_code == 404


def test_a_viewer_cannot_open_the_tenant_admin_site(alice):
    tenant_member("alice", "viewer", role=User.Role.VIEWER)
    response = signed_in_client("alice", username="viewer").get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_an_expired_form_gets_a_page_that_says_what_to_do_within_the_csp(alice):
    client = Client(HTTP_HOST="alice.localhost", enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "admin", "password": PASSWORD})

    page = response.content.decode()
    assert response.status_code == 403
    assert "This form has expired" in page and "reload the page" in page
    assert "<style" not in page and "style=" not in page
