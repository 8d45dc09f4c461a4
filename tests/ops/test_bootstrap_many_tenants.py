"""`bootstrap` at many tenants: only the schemas behind on migrations are migrated (several at
once), a failed migration stops it naming its tenant, and the catalogs are synced only into the
schemas that were not synced with the shipped ones."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import override_settings
from django_tenants.utils import schema_context

from ops.management.commands import bootstrap as bootstrap_command
from playbooks.models import CatalogState
from tenants.selectors import schema_pending_migrations

pytestmark = pytest.mark.usefixtures("transactional_db")

# A shared app's newest migration: in a tenant schema it is only recorded, never run, so
# forgetting its record is harmless and migrating records it again.
RECORD_ONLY = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes("ops")[0]
# A tenant app's migration that creates a table: applied again over the table it made, it fails.
CREATES_A_TABLE = ("playbooks", "0007_catalog_state")


def record_forget(schema: str, migration: tuple[str, str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s', migration)


@pytest.fixture
def migrated_schemas(monkeypatch):
    """The schemas bootstrap hands to schemas_migrate, by call."""
    calls = []
    real = bootstrap_command.schemas_migrate

    def spy(*, missing, processes):
        calls.append(sorted(missing))
        return real(missing=missing, processes=processes)

    monkeypatch.setattr(bootstrap_command, "schemas_migrate", spy)
    return calls


@override_settings(SEED_DEMO_DATA=False)
def test_only_the_tenant_behind_on_migrations_is_migrated(committed_tenants, migrated_schemas, capsys):
    for slug in ("acme", "beta", "gamma"):
        committed_tenants(slug)
    record_forget("beta", RECORD_ONLY)
    assert schema_pending_migrations("beta") == [".".join(RECORD_ONLY)]

    call_command("bootstrap", verbosity=1)

    assert migrated_schemas == [["beta"]]
    assert "Tenant schemas behind on migrations: 1 of 3." in capsys.readouterr().out
    assert all(not schema_pending_migrations(slug) for slug in ("acme", "beta", "gamma"))


@override_settings(SEED_DEMO_DATA=False)
def test_tenants_behind_are_migrated_by_parallel_processes(committed_tenants, migrated_schemas):
    for slug in ("acme", "beta", "gamma"):
        committed_tenants(slug)
    record_forget("acme", RECORD_ONLY)
    record_forget("gamma", RECORD_ONLY)

    call_command("bootstrap", processes=2, verbosity=0)

    assert migrated_schemas == [["acme", "gamma"]]
    assert all(not schema_pending_migrations(slug) for slug in ("acme", "beta", "gamma"))


@override_settings(SEED_DEMO_DATA=False)
@pytest.mark.parametrize("processes", [1, 2])
def test_a_failed_migration_stops_bootstrap_naming_the_tenant(committed_tenants, processes):
    for slug in ("acme", "beta"):
        committed_tenants(slug)
    record_forget("beta", CREATES_A_TABLE)  # its table stays: applying the migration again fails
    record_forget("acme", RECORD_ONLY)

    with pytest.raises(CommandError, match="Migrating schema “beta” failed: .*already exists"):
        call_command("bootstrap", processes=processes, verbosity=0)

    # Rolled back there, never recorded as applied; the table it failed on is untouched.
    assert schema_pending_migrations("beta") == [".".join(CREATES_A_TABLE)]
    with schema_context("beta"):
        assert CatalogState.objects.exists()


@override_settings(SEED_DEMO_DATA=False)
def test_catalogs_are_synced_only_where_the_schema_was_not_synced_with_the_shipped_ones(
    committed_tenants, capsys
):
    for slug in ("acme", "beta"):
        committed_tenants(slug)
    call_command("bootstrap", verbosity=1)
    capsys.readouterr()
    with schema_context("beta"):
        CatalogState.objects.all().delete()

    call_command("bootstrap", verbosity=1)

    out = capsys.readouterr().out
    assert "Schemas not synced with the shipped catalogs: 1." in out
    assert "beta: up to date, nothing changed" in out and "acme:" not in out
    with schema_context("beta"):
        assert CatalogState.objects.exists()
