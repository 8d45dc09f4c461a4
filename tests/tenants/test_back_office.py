import pytest

from tenants.models import ApiKey, Plan
from tenants.services import api_key_create
from tests.api.helpers import api, new_key
from tests.conftest import host_client


@pytest.fixture
def staff(admin_user, public):
    client = host_client(None)
    client.force_login(admin_user)
    return client


def test_the_tenant_list_shows_plan_status_and_this_months_requests(alice, staff):
    key = new_key(alice)
    for _ in range(3):
        api(key).get("/api/v1/me/")

    page = staff.get("/admin/tenants/tenant/").content.decode()
    assert "alice" in page and "free" in page and "Active" in page
    assert '<td class="field-requests_this_month">3</td>' in page


def test_a_tenant_page_shows_key_prefixes_never_secrets(alice, staff):
    key, full_key = api_key_create(tenant=alice, name="integration")
    page = staff.get(f"/admin/tenants/tenant/{alice.pk}/change/").content.decode()

    assert key.prefix in page and "alice.localhost" in page
    assert full_key not in page and key.secret_hash not in page and key.salt not in page


def test_staff_change_a_tenants_plan_with_an_action(alice, staff):
    pro = Plan.objects.get(name="pro")
    staff.post(
        "/admin/tenants/tenant/", {"action": f"change_plan_to_{pro.pk}", "_selected_action": [alice.pk]}
    )
    alice.refresh_from_db()
    assert alice.plan == pro


def test_staff_edit_plan_limits(staff):
    free = Plan.objects.get(name="free")
    staff.post(
        f"/admin/tenants/plan/{free.pk}/change/",
        {
            "name": "free",
            "max_accounts": 30,
            "max_documents": 50,
            "max_api_requests_per_month": 2000,
            "max_users": 3,
        },
    )
    free.refresh_from_db()
    assert free.max_api_requests_per_month == 2000


def test_staff_suspend_and_reactivate_from_the_back_office(alice, staff):
    staff.post("/admin/tenants/tenant/", {"action": "suspend", "_selected_action": [alice.pk]})
    alice.refresh_from_db()
    assert alice.is_suspended

    staff.post("/admin/tenants/tenant/", {"action": "reactivate", "_selected_action": [alice.pk]})
    alice.refresh_from_db()
    assert not alice.is_suspended


def test_the_back_office_lists_plans_keys_and_usage(alice, staff):
    new_key(alice)
    for url in ("/admin/tenants/plan/", "/admin/tenants/apikey/", "/admin/tenants/usagemonth/"):
        assert staff.get(url).status_code == 200, url
    assert ApiKey.objects.count() == 1


def test_schema_health_is_shown_to_staff_and_never_edited_by_hand(alice, staff):
    from tenants.models import SchemaHealth
    from tenants.services import schema_health_record

    schema_health_record(schema_name="alice")
    record = SchemaHealth.objects.get(tenant=alice)

    assert staff.get("/admin/tenants/schemahealth/").status_code == 200
    assert staff.post("/admin/tenants/schemahealth/add/", {"tenant": alice.pk, "ok": "on"}).status_code == 403
    staff.post(f"/admin/tenants/schemahealth/{record.pk}/change/", {"ok": "" if record.ok else "on"})
    assert SchemaHealth.objects.get(pk=record.pk).ok == record.ok


def test_staff_edit_a_tenants_details_through_the_tenant_service(alice, staff):
    form = {"name": "Alice Renamed", "contact_name": "Ann", "contact_email": "ann@alice.example.com"}
    form.update(
        contact_phone="",
        plan=alice.plan_id,
        status="active",
        suspended_reason="",
        timezone=alice.timezone,
        currency="USD",
    )
    form.update(
        {
            f"{inline}-{count}": 0
            for inline in ("domains", "api_keys")
            for count in ("TOTAL_FORMS", "INITIAL_FORMS")
        }
    )

    response = staff.post(f"/admin/tenants/tenant/{alice.pk}/change/", form)

    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.name, alice.contact_email, alice.schema_name) == (
        "Alice Renamed",
        "ann@alice.example.com",
        "alice",
    )
    assert alice.domains.count() == 1


def test_staff_see_but_cannot_switch_a_tenants_peer_benchmark_sharing(alice, staff):
    page = staff.get(f"/admin/tenants/tenant/{alice.pk}/change/").content.decode()
    assert "Share aggregates for peer benchmarks" in page
    assert 'name="peer_benchmarks"' not in page  # read-only: the tenant admin decides
