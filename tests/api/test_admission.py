"""One statement admits an API request (tenants.admission): what it counts, what it refuses, and
that the salts it keeps in process never let one tenant's key serve another."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants import admission
from tenants.models import ApiKey, UsageMonth
from tenants.services import tenant_change_plan
from tests.api.helpers import api, error_of, new_key
from tests.tenants.factories import PlanFactory


def requests_counted(tenant) -> int:
    return sum(UsageMonth.objects.filter(tenant=tenant).values_list("requests", flat=True))


def test_a_request_on_the_base_host_costs_the_host_lookup_and_one_statement(alice):
    client = api(new_key(alice))
    # The first request learns the key's salt and records the tenant's activity (a write in its
    # schema, at most every few minutes), which leaves the session on alice's search_path.
    for _ in range(2):
        client.get("/api/v1/me/")

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/me/").status_code == 200

    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    assert statements == ["SELECT", "WITH"]  # no SET search_path, no separate count or usage read


def test_me_shows_the_request_it_was_counted_in(alice):
    client = api(new_key(alice))
    client.get("/api/v1/me/")
    usage = client.get("/api/v1/me/").json()["usage"]

    assert (usage["requests"], usage["total_requests"]) == (2, 2)
    assert usage["last_request_at"] is not None


def test_a_key_of_tenant_a_is_refused_on_bs_host_once_its_salt_is_known_and_counts_nothing(alice, bob):
    alices_key = new_key(alice)
    assert api(alices_key, "alice").get("/api/v1/me/").status_code == 200

    refused = api(alices_key, "bob").get("/api/v1/me/")
    bobs = api(new_key(bob), "bob").get("/api/v1/me/")

    assert refused.status_code == 403 and "another workspace" in error_of(refused)["message"]
    assert bobs.json()["tenant"]["slug"] == "bob"
    assert (requests_counted(alice), requests_counted(bob)) == (1, 1)


def test_a_known_prefix_with_a_wrong_secret_is_refused(alice):
    key = new_key(alice)
    assert api(key).get("/api/v1/me/").status_code == 200

    response = api(key[:-4] + "abcd").get("/api/v1/me/")

    assert response.status_code == 401
    assert requests_counted(alice) == 1


def test_a_stale_salt_in_process_is_replaced_by_the_keys_own(alice):
    key = new_key(alice)
    admission._SALTS[key[:16]] = "0" * 32  # as if the prefix had named an older, deleted key

    assert api(key).get("/api/v1/me/").status_code == 200
    assert admission._SALTS[key[:16]] == ApiKey.objects.get(prefix=key[:16]).salt


def test_a_request_the_keys_scope_does_not_cover_is_refused_and_not_counted(alice):
    response = api(new_key(alice, scope=ApiKey.Scope.READ)).post("/api/v1/keys/", {"name": "x"})

    assert response.status_code == 403
    assert "X-RateLimit-Limit" not in response
    assert requests_counted(alice) == 0


def test_a_plan_change_applies_to_the_very_next_request(alice):
    client = api(new_key(alice))
    assert client.get("/api/v1/me/")["X-RateLimit-Limit"] == "1000"

    tenant_change_plan(tenant=alice, plan=PlanFactory(max_api_requests_per_month=1))
    response = client.get("/api/v1/me/")

    assert response.status_code == 429
    assert response["X-RateLimit-Limit"] == "1"


def test_the_admission_statement_is_planned_once_per_connection_not_per_request(alice):
    client = api(new_key(alice))
    for _ in range(3):
        assert client.get("/api/v1/me/").status_code == 200

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%counted AS (%"],
        )
        runs = [row[0] for row in cursor.fetchall()]
    assert runs == [3]  # one prepared statement on this connection, run by each request
