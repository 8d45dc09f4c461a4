from django_tenants.utils import schema_context

from tenants.services import tenant_reactivate, tenant_suspend
from tests.conftest import host_client, signed_in_client
from users.models import User


def test_an_unknown_host_gets_a_friendly_404(public):
    response = host_client("nobody-here").get("/")

    assert response.status_code == 404
    assert "There is no Pulse workspace at nobody-here.localhost" in response.content.decode()


def test_the_public_host_serves_the_landing_page(public):
    response = host_client(None).get("/")
    assert response.status_code == 200
    assert "Create your workspace" in response.content.decode()


def test_a_suspended_tenant_shows_the_suspended_page_and_keeps_its_data(alice):
    client = signed_in_client("alice")
    tenant_suspend(tenant=alice, reason="Invoice overdue")

    response = client.get("/")
    assert response.status_code == 403
    page = response.content.decode()
    assert (
        "workspace is suspended" in page and "Invoice overdue" in page and "admin@alice.example.com" in page
    )
    assert host_client("alice").get("/login/").status_code == 403

    tenant_reactivate(tenant=alice)
    assert client.get("/").status_code == 200
    with schema_context("alice"):
        assert User.objects.filter(username="admin").exists()


def test_staff_suspend_and_reactivate_from_the_back_office(alice, admin_user):
    staff = host_client(None)
    staff.force_login(admin_user)
    staff.post("/admin/tenants/tenant/", {"action": "suspend", "_selected_action": [alice.pk]})
    alice.refresh_from_db()
    assert alice.is_suspended

    staff.post("/admin/tenants/tenant/", {"action": "reactivate", "_selected_action": [alice.pk]})
    alice.refresh_from_db()
    assert not alice.is_suspended


def test_the_back_office_lists_tenants_plans_and_domains(alice, admin_user):
    staff = host_client(None)
    staff.force_login(admin_user)
    for url in (
        "/admin/tenants/tenant/",
        "/admin/tenants/plan/",
        f"/admin/tenants/tenant/{alice.pk}/change/",
    ):
        response = staff.get(url)
        assert response.status_code == 200, url
    assert "alice.localhost" in staff.get(f"/admin/tenants/tenant/{alice.pk}/change/").content.decode()
