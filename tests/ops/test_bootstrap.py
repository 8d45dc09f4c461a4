"""`manage.py bootstrap` (ops): idempotent startup, the demo tenant only into an empty database."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from tenants.models import Tenant
from tests.conftest import schemas_drop

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
    schemas_drop(["demo"])


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
