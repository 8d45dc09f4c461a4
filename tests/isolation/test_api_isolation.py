"""Every /api/v1/ route, with tenant A's key: refused on B's host, and B's objects
invisible by id. A new route without an entry in ROUTES fails this file."""

import pytest
from django_tenants.utils import schema_context

from api.base import TenantApiMixin
from tenants.models import ApiKey
from tests.api.helpers import api, new_key
from tests.ingest.factories import UploadFactory
from tests.isolation.routes import api_routes
from tests.kpis.factories import AccountFactory
from tests.playbooks.factories import ExecutionFactory, TriggerFactory
from tests.tenants.factories import ApiKeyFactory


def bob_key_id(bob) -> dict:
    return {"pk": ApiKeyFactory(tenant=bob, name="bob's secret integration", scope=ApiKey.Scope.ADMIN).pk}


def bob_account_id(bob) -> dict:
    with schema_context("bob"):
        return {"pk": AccountFactory(external_id="BOB-1", name="Bob's secret customer").pk}


def bob_upload_id(bob) -> dict:
    with schema_context("bob"):
        return {"pk": UploadFactory(tenant=bob, original_name="b.csv", dry_run=True).public_id}


def bob_playbook_key(bob) -> dict:
    """Playbook keys are the same in every tenant: B's custom one must stay invisible to A."""
    from playbooks.models import Playbook

    with schema_context("bob"):
        return {
            "pk": Playbook.objects.create(key="bob-secret-play", name="Bob's secret play", purpose="x").key
        }


def bob_execution_id(bob) -> dict:
    with schema_context("bob"):
        account = AccountFactory(external_id="BOB-EX", name="Bob's run account")
        return {"pk": ExecutionFactory(account=account, started_by="user:bob").pk}


def bob_step(bob) -> dict:
    return {**bob_execution_id(bob), "number": 1}


def bob_trigger_id(bob) -> dict:
    with schema_context("bob"):  # one more than the seeded triggers: an id only B has
        return {"pk": TriggerFactory(condition={"type": "band_in", "bands": ["risk"]}).pk}


def bob_learned_model_id(bob) -> dict:
    from kpis.models import LearnedModel

    with schema_context("bob"):
        return {"pk": LearnedModel.objects.create(requested_by="bob").pk}


def bob_document_id(bob) -> dict:
    from kpis.knowledge.services import document_upsert

    with schema_context("bob"):
        document_upsert(doc_id="bob-secret-doc", title="Bob's secret", content="Bob's secret pricing is low.")
    return {"pk": "bob-secret-doc"}


def bob_insight_id(bob) -> dict:
    from kpis.models import Insight

    account = bob_account_id(bob)["pk"]
    with schema_context("bob"):
        insight = Insight.objects.create(
            account_id=account,
            rule="score_drop",
            period="2026-10-01",
            severity="critical",
            title="Bob's",
            detail=".",
        )
        return {"pk": insight.pk}


# route → (methods to try, what B object ids the route takes)
ROUTES = {
    "api/v1/me/": (["get"], None),
    "api/v1/usage/": (["get"], None),
    "api/v1/portfolio/": (["get"], None),
    "api/v1/benchmarks/": (["get"], None),
    "api/v1/kpis/catalog/": (["get"], None),
    "api/v1/health/report-card/": (["get"], None),
    "api/v1/health/learned-model/train/": (["post"], None),
    "api/v1/health/learned-model/activate/": (["post"], None),
    "api/v1/health/learned-model/<pk>/": (["get"], bob_learned_model_id),
    "api/v1/keys/": (["get", "post"], None),
    "api/v1/keys/<pk>/": (["get", "delete"], bob_key_id),
    "api/v1/accounts/": (["get"], None),
    "api/v1/accounts/<pk>/": (["get"], bob_account_id),
    "api/v1/accounts/<pk>/kpis/": (["get"], bob_account_id),
    "api/v1/accounts/<pk>/health/": (["get"], bob_account_id),
    "api/v1/accounts/<pk>/timeline/": (["get", "post"], bob_account_id),
    "api/v1/insights/": (["get"], None),
    "api/v1/insights/<pk>/": (["patch"], bob_insight_id),
    "api/accounts": (["get"], None),
    "api/v1/uploads/": (["get", "post"], None),
    "api/v1/uploads/<pk>/": (["get"], bob_upload_id),
    "api/v1/uploads/<pk>/errors.csv": (["get"], bob_upload_id),
    "api/v1/uploads/<pk>/confirm/": (["post"], bob_upload_id),
    "api/upload": (["post"], None),
    "api/v1/playbooks/": (["get"], None),
    "api/v1/playbooks/<pk>/": (["get"], bob_playbook_key),
    "api/v1/playbooks/<pk>/effectiveness/": (["get"], bob_playbook_key),
    "api/v1/executions/": (["get", "post"], None),
    "api/v1/executions/<pk>/": (["get", "patch"], bob_execution_id),
    "api/v1/executions/<pk>/report/": (["get"], bob_execution_id),
    "api/v1/executions/<pk>/steps/<number>/complete": (["post"], bob_step),
    "api/v1/triggers/": (["get", "post"], None),
    "api/v1/triggers/<pk>/": (["get", "patch"], bob_trigger_id),
    "api/v1/kb/ask/": (["post"], None),
    "api/v1/kb/documents/": (["get", "post"], None),
    "api/v1/kb/documents/<pk>/": (["get", "put", "delete"], bob_document_id),
    "api/v1/kb/queries/": (["get"], None),
}


def fill(route: str, ids: dict) -> str:
    path = "/" + route
    for name, value in ids.items():
        path = path.replace(f"<{name}>", str(value))
    return path


def test_every_api_route_is_covered_here():
    assert set(api_routes()) == set(ROUTES)


def test_every_api_view_inherits_the_tenant_base():
    for route, view in api_routes().items():
        assert view is not None and issubclass(view, TenantApiMixin), route


def test_public_and_tenant_hosts_serve_the_same_api_routes():
    assert set(api_routes("config.urls_public")) == set(api_routes("config.urls_tenants"))


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_key_of_tenant_a_is_refused_on_tenant_bs_host(alice, bob, route):
    methods, ids_of = ROUTES[route]
    path = fill(route, ids_of(bob) if ids_of else {})
    client = api(new_key(alice, scope=ApiKey.Scope.ADMIN), "bob")
    for method in methods:
        response = getattr(client, method)(path, {}, content_type="application/json")
        assert response.status_code == 403, (method, path)


@pytest.mark.parametrize("route", sorted(route for route, (_m, ids_of) in ROUTES.items() if ids_of))
def test_a_key_of_tenant_a_cannot_reach_bs_objects_by_id(alice, bob, route):
    methods, ids_of = ROUTES[route]
    path = fill(route, ids_of(bob))
    client = api(new_key(alice, scope=ApiKey.Scope.ADMIN))
    for method in methods:
        response = getattr(client, method)(path, {}, content_type="application/json")
        assert response.status_code == 404, (method, path)
    assert not ApiKey.objects.filter(tenant=bob, revoked_at__isnull=False).exists()


def test_lists_show_only_the_callers_tenant(alice, bob):
    bob_key_id(bob)
    bob_account_id(bob)
    client = api(new_key(alice, scope=ApiKey.Scope.ADMIN))
    assert [row["name"] for row in client.get("/api/v1/keys/").json()["results"]] == ["test admin"]
    assert client.get("/api/v1/me/").json()["tenant"]["slug"] == "alice"
    for path in ("/api/v1/accounts/", "/api/accounts", "/api/v1/insights/"):
        assert client.get(path).json()["count"] == 0, path
    assert client.get("/api/v1/portfolio/").json()["accounts_scored"] == 0
