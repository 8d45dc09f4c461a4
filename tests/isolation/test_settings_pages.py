from tenants.models import ApiKey
from tenants.services import api_key_create
from tests.conftest import host_client, signed_in_client, tenant_member
from users.models import User


def test_the_keys_page_creates_a_key_shown_once(alice):
    client = signed_in_client("alice")
    page = client.post("/settings/api-keys/", {"name": "CRM sync", "scope": "write"}).content.decode()

    key = ApiKey.objects.get(tenant=alice, name="CRM sync")
    assert "cannot show it again" in page
    shown = page.split('<pre class="secret">')[1].split("</pre>")[0]
    assert shown.startswith(key.prefix + "_")
    assert shown not in client.get("/settings/api-keys/").content.decode()


def test_the_keys_page_lists_only_this_tenants_keys(alice, bob):
    api_key_create(tenant=bob, name="bob-only-key")
    page = signed_in_client("alice").get("/settings/api-keys/").content.decode()
    assert "bob-only-key" not in page


def test_an_admin_cannot_revoke_another_tenants_key(alice, bob):
    bob_key, _ = api_key_create(tenant=bob, name="bob-only-key")
    response = signed_in_client("alice").post(f"/settings/api-keys/{bob_key.pk}/revoke/")

    assert response.status_code == 404
    bob_key.refresh_from_db()
    assert bob_key.revoked_at is None


def test_revoking_from_the_portal(alice):
    key, _ = api_key_create(tenant=alice, name="old")
    signed_in_client("alice").post(f"/settings/api-keys/{key.pk}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_only_admins_manage_keys(alice):
    tenant_member("alice", "mia", role=User.Role.MANAGER)
    response = signed_in_client("alice", username="mia").get("/settings/api-keys/")
    assert response.status_code == 403
    assert "Only workspace admins" in response.content.decode()


def test_settings_pages_need_a_sign_in(alice):
    for path in (
        "/settings/api-keys/",
        "/settings/usage/",
        "/settings/peer-benchmarks/",
        "/settings/workspace/",
    ):
        assert host_client("alice").get(path)["Location"].startswith("/login/")


def test_the_usage_page_shows_plan_limits_and_progress(alice):
    page = signed_in_client("alice").get("/settings/usage/").content.decode()
    assert "Free plan" in page
    assert page.count("<progress") == 3
    assert "of 1000" in page
