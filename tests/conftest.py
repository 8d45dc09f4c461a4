"""Fixtures shared by every test: a migrated template schema, tenants, host-bound clients.

Tenants made in an ordinary `db` test live inside the test's transaction (PostgreSQL DDL
is transactional), so their schemas vanish at rollback. Tests that need committed data
(a real worker, concurrent requests) use `committed_tenants`, which drops what it made.
"""

import socket
import threading

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from playbooks.services import catalog_sync
from tenants.models import Tenant
from tenants.services import base_schema_ensure, public_tenant_ensure
from tests.kpis.factories import TODAY as DEMO_TODAY
from tests.kpis.factories import Portfolio, portfolio_build
from tests.tenants.factories import PASSWORD, TenantFactory


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """After pytest-django migrated the test database, build the template schema once, with
    the catalogs every tenant cloned from it starts with (as bootstrap does)."""
    with django_db_blocker.unblock():
        base_schema_ensure()
        catalog_sync(schema_name=settings.TENANT_BASE_SCHEMA)


@pytest.fixture(autouse=True)
def public_schema_first():
    """A request leaves the connection on its tenant's schema; every test starts on public."""
    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def registration_counters_reset():
    """Registration attempts are counted per address in Redis, which outlives a test's
    transaction: start every test with none counted (the broker's keys stay)."""
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(
        match=f"*:{settings.CACHES['default']['KEY_PREFIX']}:*:registration-attempts:*"
    ):
        client.delete(key)


@pytest.fixture
def answer_cache_clear():
    """Knowledge-base answers are cached in Redis, which outlives a test's transaction: start and
    end with none cached. Only those keys: the broker's share the database."""
    _cached_answers_delete()
    yield
    _cached_answers_delete()


def _cached_answers_delete() -> None:
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(match=f"*:{settings.CACHES['default']['KEY_PREFIX']}:*:kb-answer:*"):
        client.delete(key)


@pytest.fixture
def tcp_server():
    """A server listening on loopback that accepts connections (and does nothing more); its port."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
def public(db):
    return public_tenant_ensure()


def make_tenant(slug: str, **admin):
    """Tenant `slug`; `admin` may give the admin's full_name, email, password or username."""
    return TenantFactory(slug=slug, **{f"admin_{field}": value for field, value in admin.items()})


@pytest.fixture
def tenant_factory(public):
    return make_tenant


@pytest.fixture
def alice(tenant_factory):
    return tenant_factory("alice")


@pytest.fixture
def bob(tenant_factory):
    return tenant_factory("bob")


def host_client(slug: str | None) -> Client:
    """A plain client with the tenant's Host header (TenantClient skips host routing)."""
    return Client(HTTP_HOST=f"{slug}.localhost" if slug else "localhost")


def signed_in_client(slug: str, username: str = "admin", password: str = PASSWORD) -> Client:
    client = host_client(slug)
    response = client.post("/login/", {"username": username, "password": password})
    assert response.status_code == 302, "sign-in failed in the fixture"
    return client


@pytest.fixture
def committed_tenants(transactional_db):
    """Provision tenants whose data is committed; their schemas are dropped afterwards."""
    made = []

    def provision(slug: str):
        public_tenant_ensure()
        made.append(slug)
        return make_tenant(slug)

    yield provision
    # The flush after a transactional test misses public rows when the last request left
    # the connection on a tenant schema, so remove what we made ourselves.
    connection.set_schema_to_public()
    schemas_drop(made)
    Tenant.objects.filter(schema_name__in=made).delete()


@pytest.fixture
def purge_queue(settings):
    """Drop tasks left on the test queues by an earlier, interrupted run. By name: the app
    knows the ingest queue only once it has routed a task there."""
    from config.celery import app

    with app.connection_for_write() as broker:
        for queue in (settings.CELERY_TASK_DEFAULT_QUEUE, settings.INGEST_QUEUE):
            broker.default_channel.queue_purge(queue)


def schemas_drop(slugs) -> None:
    with connection.cursor() as cursor:
        for slug in slugs:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{slug}" CASCADE')


def tenant_member(slug: str, username: str, role: str = "viewer", **fields):
    """A user of tenant `slug` made as its admin would make them; they sign in with PASSWORD."""
    from tests.users.factories import UserFactory

    with schema_context(slug):
        fields.setdefault("email", f"{username}@{slug}.example.com")
        return UserFactory(username=username, role=role, **fields)


def twice_at_once(schema: str, work) -> None:
    """`work` in two threads that start together, each on its own connection in the schema:
    two workers racing, for tests of what the database lets only one of them do."""
    start_line = threading.Barrier(2)

    def run():
        try:
            with schema_context(schema):
                start_line.wait()
                work()
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def tenant_user_count(slug: str) -> int:
    from users.models import User

    with schema_context(slug):
        return User.objects.count()


@pytest.fixture
def portfolio(alice) -> Portfolio:
    """Alice with three accounts, one per band (tests.kpis.factories.portfolio_build)."""
    with schema_context("alice"):
        return portfolio_build(alice)


@pytest.fixture
def techcorp(portfolio):
    """Alice's critical, declining account."""
    return portfolio.techcorp


@pytest.fixture
def alice_data(alice):
    """Alice's schema filled with the demo dataset (25 accounts × 25 KPIs × 18 months), for the
    few end-to-end tests of the demo itself; other tests build what they need with factories."""
    from kpis.demo import demo_data_load

    with schema_context("alice"):
        demo_data_load(today=DEMO_TODAY)
    return alice
