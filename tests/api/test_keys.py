import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.models import ApiKey
from tenants.services import api_key_revoke
from tests.api.helpers import api, error_of, new_key


@pytest.mark.parametrize("scheme", ["Token", "Bearer"])
def test_a_key_works_on_its_tenant_host_and_on_the_base_host(alice, scheme):
    key = new_key(alice)
    for host in ("alice", None):
        response = api(key, host, scheme).get("/api/v1/me/")
        assert response.status_code == 200, response.content
        assert response.json()["tenant"]["slug"] == "alice"


def test_me_names_the_tenant_plan_usage_and_key(alice):
    key = new_key(alice)
    body = api(key).get("/api/v1/me/").json()

    assert body["plan"]["name"] == "free"
    assert body["usage"]["requests"] == 1
    assert body["key"]["prefix"] == key[:16] and body["key"]["name"] == "test write"
    assert "secret_hash" not in body["key"] and "salt" not in body["key"]


def test_a_key_on_another_tenants_host_is_refused(alice, bob):
    response = api(new_key(alice), "bob").get("/api/v1/me/")

    assert response.status_code == 403
    assert "another workspace" in error_of(response)["message"]


def test_a_revoked_key_is_refused_on_the_very_next_request(alice):
    key = new_key(alice)
    client = api(key)
    assert client.get("/api/v1/me/").status_code == 200

    api_key_revoke(key=ApiKey.objects.get(prefix=key[:16]))
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert "revoked" in error_of(response)["message"]


def test_an_expired_key_is_refused(alice):
    key = new_key(alice, expires_at=timezone.now() + dt.timedelta(seconds=30))
    ApiKey.objects.filter(prefix=key[:16]).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    response = api(key).get("/api/v1/me/")
    assert response.status_code == 401
    assert "expired" in error_of(response)["message"]


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "not_authenticated"),
        ("Token", "authentication_failed"),
        ("Token pk_live_0000", "authentication_failed"),
    ],
)
def test_missing_or_malformed_keys_get_a_json_401(alice, header, code):
    client = api(None)
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=header) if header else client.get("/api/v1/me/")

    assert response.status_code == 401
    assert error_of(response)["code"] == code


def test_a_key_with_a_wrong_secret_is_refused(alice):
    key = new_key(alice)
    response = api(key[:-4] + "AAAA").get("/api/v1/me/")
    assert response.status_code == 401


def test_a_suspended_tenants_keys_get_403_with_the_reason(alice):
    from tenants.services import tenant_suspend

    key = new_key(alice)
    tenant_suspend(tenant=alice, reason="invoice overdue")
    for host in ("alice", None):
        response = api(key, host).get("/api/v1/me/")
        assert response.status_code == 403
        assert "suspended: invoice overdue" in error_of(response)["message"]


def test_the_database_never_holds_the_plaintext_key(alice):
    key = new_key(alice)
    secret = key.split("_", 3)[3]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        tables = cursor.fetchall()
        hits = []
        for schema, table in tables:  # every row of every table, as text: a data dump
            cursor.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" t WHERE t::text LIKE %s', [f"%{secret}%"]
            )
            if cursor.fetchone()[0]:
                hits.append(f"{schema}.{table}")
    assert hits == []


def test_last_used_is_recorded_at_most_once_a_minute(alice):
    key = new_key(alice)
    client = api(key)
    client.get("/api/v1/me/")
    first_use = ApiKey.objects.get(prefix=key[:16]).last_used_at
    assert first_use is not None

    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/me/")
    assert not [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "tenants_apikey"')]
    assert ApiKey.objects.get(prefix=key[:16]).last_used_at == first_use


def test_the_create_api_key_command_prints_a_working_key(alice, capsys):
    call_command("create_api_key", tenant="alice", name="ci")
    key = capsys.readouterr().out.strip()

    assert api(key).get("/api/v1/me/").json()["key"]["name"] == "ci"


def test_the_create_api_key_command_refuses_an_unknown_tenant(alice):
    with pytest.raises(CommandError, match="No tenant “nope”. Known tenants: alice"):
        call_command("create_api_key", tenant="nope", name="ci")


def test_admin_keys_manage_keys_through_the_api(alice):
    client = api(new_key(alice, scope=ApiKey.Scope.ADMIN))

    created = client.post(
        "/api/v1/keys/", {"name": "CRM sync", "scope": "read"}, content_type="application/json"
    )
    assert created.status_code == 201
    full_key = created.json()["key"]
    listed = client.get("/api/v1/keys/").json()
    assert {row["name"] for row in listed["results"]} == {"test admin", "CRM sync"}
    assert all("key" not in row for row in listed["results"])

    assert client.delete(f"/api/v1/keys/{created.json()['id']}/").status_code == 204
    assert api(full_key).get("/api/v1/me/").status_code == 401


def test_key_management_needs_an_admin_key(alice):
    response = api(new_key(alice)).get("/api/v1/keys/")
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"


def test_a_read_key_cannot_write(alice):
    response = api(new_key(alice, scope=ApiKey.Scope.READ)).post("/api/v1/keys/", {"name": "x"})
    assert response.status_code == 403


def test_creating_a_key_without_a_name_is_a_400_naming_the_field(alice):
    response = api(new_key(alice, scope=ApiKey.Scope.ADMIN)).post(
        "/api/v1/keys/", {"scope": "nonsense"}, content_type="application/json"
    )
    assert response.status_code == 400
    error = error_of(response)
    assert set(error["fields"]) == {"name", "scope"}


def test_lists_paginate_with_a_capped_page_size(alice):
    client = api(new_key(alice, scope=ApiKey.Scope.ADMIN))
    for index in range(3):
        new_key(alice, created_by=f"n{index}")

    page = client.get("/api/v1/keys/?page_size=2&ordering=created_at").json()
    assert page["count"] == 4 and len(page["results"]) == 2 and page["next"]
    assert client.get("/api/v1/keys/?page_size=100000").json()["count"] == 4
