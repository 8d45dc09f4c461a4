"""`manage.py bootstrap` (ops): idempotent startup, the demo tenant only into an empty database."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_context

from kpis import catalog as kpi_catalog
from kpis.models import KpiDefinition
from ops.demo import DEMO_PEERS
from peers.models import ALL_INDUSTRIES, PeerCell
from tenants.models import Tenant
from tests.conftest import schemas_drop
from tests.playbooks.test_catalog_sync import NEW_KPI, kpis_shipped

SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "pg_toast")


def row_counts() -> dict[str, int]:
    """Rows of every table in every non-system schema, as {"schema.table": count}."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND NOT (table_schema = ANY(%s))",
            [list(SYSTEM_SCHEMAS)],
        )
        tables = cursor.fetchall()
        counts = {}
        for schema, table in tables:
            cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}"')
            counts[f"{schema}.{table}"] = cursor.fetchone()[0]
    return counts


@pytest.fixture
def drop_demo():
    yield
    schemas_drop(["demo", *(f"demo-peer-{index}" for index in range(1, len(DEMO_PEERS) + 1))])


def bootstrap() -> None:
    call_command("bootstrap", verbosity=0)


@override_settings(SEED_DEMO_DATA=True)
def test_bootstrap_three_times_changes_nothing_after_the_first(transactional_db, drop_demo, capsys):
    bootstrap()
    assert "Demo tenant created" in capsys.readouterr().out
    first = row_counts()
    bootstrap()
    assert "demo seeding skipped" in capsys.readouterr().out
    bootstrap()

    assert row_counts() == first
    assert Tenant.objects.filter(schema_name="demo").exists()
    assert first["demo.users_user"] == 1


@override_settings(SEED_DEMO_DATA=True)
def test_the_demo_tenant_comes_with_opted_in_demo_peers_and_real_peer_cells(transactional_db, drop_demo):
    bootstrap()
    peers = Tenant.objects.filter(demo_peer=True)
    assert sorted(peers.values_list("name", flat=True)) == [f"Demo peer: {name}" for name in DEMO_PEERS]
    assert (
        all(peer.peer_benchmarks for peer in peers) and Tenant.objects.get(schema_name="demo").peer_benchmarks
    )
    every = PeerCell.objects.filter(industry_key=ALL_INDUSTRIES)
    every = every.filter(month=every.latest("month").month)
    assert every.count() == len(kpi_catalog.DEFAULT_KPIS) and {cell.companies for cell in every} == {6}
    assert PeerCell.objects.filter(industry_key="software").exists()


@override_settings(SEED_DEMO_DATA=True, DEMO_PEER_TENANTS=False)
def test_without_demo_peer_tenants_as_in_production_no_demo_peer_is_made(transactional_db, drop_demo):
    bootstrap()
    assert Tenant.objects.filter(schema_name="demo").exists()
    assert not Tenant.objects.filter(demo_peer=True).exists() and not PeerCell.objects.exists()


@override_settings(SEED_DEMO_DATA=False)
def test_bootstrap_without_seed_demo_data_creates_no_demo_tenant(transactional_db, capsys):
    bootstrap()

    assert "SEED_DEMO_DATA is off" in capsys.readouterr().out
    assert list(Tenant.objects.values_list("schema_name", flat=True)) == ["public"]


@override_settings(SEED_DEMO_DATA=True)
def test_bootstrap_never_seeds_next_to_an_existing_tenant(committed_tenants, capsys):
    committed_tenants("acme")
    bootstrap()

    assert "demo seeding skipped" in capsys.readouterr().out
    assert not Tenant.objects.filter(schema_name="demo").exists()


@pytest.fixture
def template_without_new_kpi():
    """The template schema is committed here and outlives the test: take the KPI out again."""
    yield
    with schema_context("tenant_base"):
        KpiDefinition.objects.filter(key=NEW_KPI.key).delete()


@override_settings(SEED_DEMO_DATA=False)
def test_bootstrap_syncs_the_catalogs_into_the_template_and_every_tenant(
    committed_tenants, template_without_new_kpi, monkeypatch, capsys
):
    committed_tenants("acme")
    monkeypatch.setattr(kpi_catalog, "SHIPPED", kpis_shipped(NEW_KPI))

    call_command("bootstrap", verbosity=1)

    out = capsys.readouterr().out
    assert "tenant_base: 1 added, 0 updated" in out and "acme: 1 added, 0 updated" in out
    for schema in ("tenant_base", "acme"):
        with schema_context(schema):
            assert KpiDefinition.objects.filter(key=NEW_KPI.key).exists()
