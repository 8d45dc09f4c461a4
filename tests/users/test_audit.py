"""Settings → Audit log: each change to keys, the team and workspace settings leaves one event
naming who made it (a person in the portal, a key in the API); admins alone read, filter and
export it, and a workspace only ever sees its own."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.models import ApiKey, Tenant
from tenants.services import api_key_create, tenant_currency_set
from tests.api.helpers import api, new_key
from tests.conftest import host_client, signed_in_client, tenant_member
from users.audit import audit_record
from users.models import AuditEvent, User


def events(slug: str, target_type: str) -> list[tuple[str, str, str, str]]:
    with schema_context(slug):
        rows = AuditEvent.objects.filter(target_type=target_type).order_by("pk")
        return list(rows.values_list("actor", "action", "target_type", "target"))


def test_provisioning_logs_the_first_admin_as_made_by_the_system(alice):
    assert events("alice", "user") == [("system", "created", "user", "admin")]


def test_portal_key_create_and_revoke_are_logged_with_the_admin_as_actor(alice):
    client = signed_in_client("alice")
    client.post("/settings/api-keys/", {"name": "CRM sync", "scope": "read"})
    key = ApiKey.objects.get(tenant=alice, name="CRM sync")
    client.post(f"/settings/api-keys/{key.pk}/revoke/")
    client.post(f"/settings/api-keys/{key.pk}/revoke/")  # already revoked: nothing new happens

    target = f"CRM sync ({key.prefix})"
    assert events("alice", "api key") == [
        ("user:admin", "created", "api key", target),
        ("user:admin", "revoked", "api key", target),
    ]
    with schema_context("alice"):
        details = list(
            AuditEvent.objects.filter(target=target).order_by("pk").values_list("detail", flat=True)
        )
    assert details == [{"scope": "read", "expires_at": None}, {}]


def test_api_key_changes_are_logged_with_the_calling_key_as_actor(alice):
    caller = new_key(alice, scope=ApiKey.Scope.ADMIN)
    prefix = caller[:16]
    made = api(caller, "alice").post("/api/v1/keys/", {"name": "ETL"}, content_type="application/json")
    assert made.status_code == 201, made.content
    api(caller, "alice").delete(f"/api/v1/keys/{made.json()['id']}/")

    logged = [(actor, action) for actor, action, _kind, _target in events("alice", "api key")]
    assert logged[-2:] == [(f"api:{prefix}", "created"), (f"api:{prefix}", "revoked")]


def test_a_key_made_on_the_public_schema_is_logged_in_its_tenants_schema(alice, bob):
    key, _ = api_key_create(tenant=bob, name="from a command")
    assert [row[3] for row in events("bob", "api key")] == [f"from a command ({key.prefix})"]
    assert events("alice", "api key") == []
    assert not AuditEvent.objects.filter(target__startswith="from a command").exists()  # public schema


def test_team_changes_are_logged_once_each_with_the_admin_as_actor(alice):
    member = tenant_member("alice", "nina", role="viewer")
    client = signed_in_client("alice")
    client.post("/settings/team/", {"email": "omar@alice.example.com", "full_name": "Omar", "role": "viewer"})
    client.post(f"/settings/team/{member.pk}/", {"action": "role", "role": "manager"})
    client.post(f"/settings/team/{member.pk}/", {"action": "deactivate"})
    client.post(f"/settings/team/{member.pk}/", {"action": "reactivate"})

    assert [row for row in events("alice", "user") if row[0] == "user:admin"] == [
        ("user:admin", "invited", "user", "omar@alice.example.com"),
        ("user:admin", "changed", "user", "nina"),
        ("user:admin", "deactivated", "user", "nina"),
        ("user:admin", "reactivated", "user", "nina"),
    ]
    with schema_context("alice"):
        role_change = AuditEvent.objects.get(action="changed", target="nina")
    assert role_change.detail == {"role": ["viewer", "manager"]}


def test_a_refused_team_change_logs_nothing(alice):
    client = signed_in_client("alice")
    before = events("alice", "user")
    with schema_context("alice"):
        admin_pk = User.objects.get(username="admin").pk
    client.post(f"/settings/team/{admin_pk}/", {"action": "deactivate"})  # yourself: refused
    assert events("alice", "user") == before


def test_workspace_settings_are_logged_only_when_they_change(alice):
    client = signed_in_client("alice")
    client.post("/settings/workspace/", {"currency": "EUR"})
    client.post("/settings/workspace/", {"currency": "EUR"})
    client.post("/settings/peer-benchmarks/", {"share": "on"})

    assert [row[:2] for row in events("alice", "workspace settings")] == [("user:admin", "changed")] * 2
    with schema_context("alice"):
        details = list(
            AuditEvent.objects.filter(target_type="workspace settings")
            .order_by("pk")
            .values_list("detail", flat=True)
        )
    assert details == [{"currency": ["USD", "EUR"]}, {"peer_benchmarks": True}]


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_only_admins_see_the_audit_log(alice, role):
    tenant_member("alice", "pat", role=role)
    client = signed_in_client("alice", "pat")
    assert client.get("/settings/audit/").status_code == 403
    assert client.get("/settings/audit/?format=csv").status_code == 403


def test_the_settings_menu_links_the_audit_log_for_admins_only(alice):
    tenant_member("alice", "vic", role="viewer")
    assert 'href="/settings/audit/"' in signed_in_client("alice").get("/").content.decode()
    assert 'href="/settings/audit/"' not in signed_in_client("alice", "vic").get("/").content.decode()


def _record_in(slug: str, *, actor: str, target_type: str, target: str, days_ago: int = 0) -> None:
    with schema_context(slug):
        event = audit_record(actor=actor, action="changed", target_type=target_type, target=target)
        AuditEvent.objects.filter(pk=event.pk).update(at=timezone.now() - dt.timedelta(days=days_ago))


def test_the_page_filters_by_what_who_and_days(alice):
    _record_in("alice", actor="user:ann", target_type="trigger", target="Renewal nudge", days_ago=10)
    _record_in("alice", actor="api:pk_abcd", target_type="api key", target="ETL key", days_ago=1)
    client = signed_in_client("alice")

    by_type = client.get("/settings/audit/", {"target_type": "trigger"}).content.decode()
    assert "Renewal nudge" in by_type and "ETL key" not in by_type
    by_actor = client.get("/settings/audit/", {"actor": "pk_ab"}).content.decode()
    assert "ETL key" in by_actor and "Renewal nudge" not in by_actor
    since = (timezone.localdate() - dt.timedelta(days=3)).isoformat()
    recent = client.get("/settings/audit/", {"date_from": since}).content.decode()
    assert "ETL key" in recent and "Renewal nudge" not in recent


def test_filters_that_do_not_parse_are_said_not_ignored(alice):
    client = signed_in_client("alice")
    bad_day = client.get("/settings/audit/", {"date_from": "yesterday"})
    assert bad_day.status_code == 400 and "Enter a valid date" in bad_day.content.decode()
    swapped = client.get("/settings/audit/", {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert swapped.status_code == 400 and "swap them" in swapped.content.decode()
    assert client.get("/settings/audit/", {"target_type": "passwords"}).status_code == 400


def test_the_page_shows_fifty_events_a_page(alice):
    for number in range(51):
        _record_in("alice", actor="system", target_type="trigger", target=f"trigger-{number:02d}")
    client = signed_in_client("alice")
    first = client.get("/settings/audit/", {"target_type": "trigger"}).content.decode()
    assert "Page 1 of 2 · 51 events" in first and first.count("trigger-") == 50
    second = client.get("/settings/audit/", {"target_type": "trigger", "page": 2}).content.decode()
    assert second.count("trigger-") == 1


def test_the_csv_export_holds_the_filtered_events_with_formulas_defused(alice):
    _record_in("alice", actor="user:ann", target_type="trigger", target="=HYPERLINK(evil)")
    _record_in("alice", actor="user:ann", target_type="user", target="nina")
    response = signed_in_client("alice").get("/settings/audit/", {"target_type": "trigger", "format": "csv"})

    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["at", "actor", "action", "target_type", "target", "detail"]
    assert [row[1:6] for row in rows[1:]] == [["user:ann", "changed", "trigger", "'=HYPERLINK(evil)", "{}"]]


def test_another_workspaces_events_never_appear(alice, bob):
    _record_in("bob", actor="user:bobby", target_type="trigger", target="bob-secret-trigger")
    tenant_currency_set(tenant=Tenant.objects.get(schema_name="bob"), currency="GBP", actor="user:bobby")
    client = signed_in_client("alice")

    assert "bob" not in client.get("/settings/audit/").content.decode().lower().replace("bob@", "")
    csv_text = client.get("/settings/audit/?format=csv").content.decode()
    assert "bobby" not in csv_text and "bob-secret-trigger" not in csv_text
    assert "No change matches" in client.get("/settings/audit/", {"actor": "bobby"}).content.decode()


def test_health_model_changes_are_logged_with_what_changed(alice, django_capture_on_commit_callbacks):
    client = signed_in_client("alice")
    data = {**client.get("/settings/health/").context["form"].initial, "healthy_min": 75, "save": "1"}
    with django_capture_on_commit_callbacks():
        client.post("/settings/health/", data)
        client.post("/settings/health/rules/")

    assert events("alice", "health model") == [
        ("user:admin", "changed", "health model", "version 2"),
        ("user:admin", "changed", "health model", "version 3"),
    ]
    with schema_context("alice"):
        saved, restored = AuditEvent.objects.filter(target_type="health model").order_by("pk")
    assert saved.detail["healthy_min"] == 75 and saved.detail["why"] == "admin"
    assert restored.detail == {"why": "admin (back to the rules)", "learned_model": None}


def test_trigger_changes_are_logged_from_the_portal_and_the_api(alice):
    signed_in_client("alice").post(
        "/playbooks/adoption_rescue/triggers/new/",
        {
            "type": "kpi_below",
            "kpi": "nps",
            "value": "-10",
            "action": "suggest",
            "cooldown_days": "45",
            "enabled": "on",
        },
    )
    caller = new_key(alice)
    client = api(caller)
    created = client.post(
        "/api/v1/triggers/",
        {"playbook": "adoption_rescue", "condition": {"type": "kpi_below", "kpi": "nps", "value": 5}},
        content_type="application/json",
    ).json()
    client.patch(f"/api/v1/triggers/{created['id']}/", {"enabled": False}, content_type="application/json")
    client.post(
        "/api/v1/triggers/",
        {"playbook": "adoption_rescue", "condition": {"type": "magic"}},
        content_type="application/json",
    )

    logged = [(actor, action) for actor, action, _kind, _target in events("alice", "trigger")]
    api_actor = f"api:{caller[:16]}"
    assert logged == [("user:admin", "created"), (api_actor, "created"), (api_actor, "changed")]
    with schema_context("alice"):
        switched_off = AuditEvent.objects.filter(target_type="trigger").order_by("pk").last()
    assert switched_off.detail == {"enabled": False} and switched_off.target.endswith(f"#{created['id']}")


def test_details_are_stored_as_plain_json_with_rows_by_name(alice):
    with schema_context("alice"):
        member = User.objects.get(username="admin")
        event = audit_record(
            actor="system",
            action="changed",
            target_type="user",
            target="x",
            detail={"who": member, "on": dt.date(2026, 5, 1)},
        )
        event.refresh_from_db()
    assert event.detail == {"who": str(member), "on": "2026-05-01"}


def test_a_key_revoked_in_the_back_office_is_logged_in_its_tenant_with_the_staff_member(alice, admin_user):
    key, _ = api_key_create(tenant=alice, name="leaked")
    staff = host_client(None)
    staff.force_login(admin_user)
    staff.post("/admin/tenants/apikey/", {"action": "revoke", "_selected_action": [key.pk]})

    assert events("alice", "api key")[-1] == (
        f"staff:{admin_user.username}",
        "revoked",
        "api key",
        f"leaked ({key.prefix})",
    )
