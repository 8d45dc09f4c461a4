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


def test_the_unknown_host_page_is_styled_and_links_to_the_home_page(public):
    client = host_client("nobody-here")
    page = client.get("/").content.decode()

    assert 'href="http://localhost/"' in page
    stylesheet = client.get("/static/css/pulse.css")
    assert stylesheet.status_code == 200
    assert b"{" in b"".join(stylesheet.streaming_content)


def test_the_public_pages_name_the_workspace_address_the_same_way(public):
    client = host_client(None)
    register = client.get("/register").content.decode()
    landing = client.get("/").content.decode()

    for page in (register, landing):
        assert "&lt;workspace address&gt;.localhost" in page
    assert "Workspace address" in register and 'href="/"' in register
    assert 'href="/register"' in landing
