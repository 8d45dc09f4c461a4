"""Keys taken over from the predecessor SaaS: found by digest in one query, never stored in clear."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenants.models import ApiKey, Tenant
from tenants.selectors import api_key_resolve
from tenants.services import api_key_adopt
from tenants.usage import document_limit, request_limit
from tests.api.helpers import api, new_key
from tests.conftest import signed_in_client

OLD_KEY = "sk-chatbot-7f3a9c2e1b8d4f6a0e5c3b1d9f7a2c4e"


def adopt(tenant, full_key=OLD_KEY, **fields):
    return api_key_adopt(
        tenant=tenant,
        name="Website widget",
        full_key=full_key,
        created_at=dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
        **fields,
    )


@pytest.mark.parametrize("scheme", ["Token", "Bearer"])
def test_an_adopted_key_works_on_its_host_and_the_base_host(alice, scheme):
    adopt(alice)
    for host in ("alice", None):
        response = api(OLD_KEY, host, scheme).get("/api/v1/me/")
        assert response.status_code == 200, response.content
        assert response.json()["tenant"]["slug"] == "alice"
        assert response.json()["key"]["created_at"].startswith("2024-03-01")


def test_an_adopted_key_is_found_in_one_query_and_a_pulse_key_still_works(alice):
    adopt(alice)
    with CaptureQueriesContext(connection) as queries:
        assert api_key_resolve(OLD_KEY).tenant == alice
    assert len(queries) == 1
    assert api(new_key(alice)).get("/api/v1/me/").status_code == 200
    assert api_key_resolve(OLD_KEY + "x") is None


def test_the_plaintext_is_not_stored(alice):
    key = adopt(alice)
    stored = ApiKey.objects.filter(pk=key.pk).values().get()
    assert all(OLD_KEY not in str(value) for value in stored.values())
    assert key.prefix.startswith("legacy_") and OLD_KEY[:8] not in key.prefix


def test_the_same_key_cannot_be_adopted_twice(alice, bob):
    adopt(alice)
    with pytest.raises(ValidationError, match="already in Pulse"):
        adopt(bob)


def test_an_adopted_revoked_or_expired_key_is_refused_with_the_reason(alice, bob):
    adopt(alice, revoked_at=timezone.now())
    adopt(bob, full_key=OLD_KEY + "-b", expires_at=timezone.now() - dt.timedelta(days=1))
    assert "revoked" in api(OLD_KEY).get("/api/v1/me/").json()["error"]["message"]
    expired = api(OLD_KEY + "-b").get("/api/v1/me/")
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]


def test_a_tenants_own_limits_win_over_its_plans(alice):
    assert (request_limit(alice), document_limit(alice)) == (1_000, 50)
    alice.custom_max_requests_per_month, alice.custom_max_documents = 7, 3
    assert (request_limit(alice), document_limit(alice)) == (7, 3)


def test_the_usage_page_meters_a_tenants_own_limits(alice):
    Tenant.objects.filter(pk=alice.pk).update(custom_max_requests_per_month=7)
    page = signed_in_client("alice").get("/settings/usage/").content.decode()
    assert "of 7" in page and "of 1000" not in page and "its own limits" in page
    usage = api(new_key(alice)).get("/api/v1/usage/").json()
    assert (usage["request_limit"], usage["document_limit"]) == (7, 50)
