"""`manage.py db_info` and `db_maintenance` on committed tenants (statistics see committed tables)."""

import re

import pytest
from django.core.management import CommandError, call_command

from ops.pgtools import connect

pytestmark = pytest.mark.django_db(transaction=True)


def table_count(schema: str) -> int:
    with connect() as conn:
        return conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", [schema]).fetchone()[0]


def test_db_info_prints_sizes_per_schema_largest_tables_and_connections(committed_tenants, capsys):
    committed_tenants("alice")
    committed_tenants("bob")

    call_command("db_info", "--largest", "3")

    out = capsys.readouterr().out
    assert re.search(r"^Database test_\w+: [\d.]+\s[KM]?B, PostgreSQL 1\d", out, re.M)
    assert re.search(r"^Connections: \d+ of \d+ \(", out, re.M)
    for schema in ("public", "alice", "bob"):
        assert re.search(rf"^  {schema} +[\d.]+\s[KM]?B +{table_count(schema)} tables +\d+ rows$", out, re.M)
    largest = out.split("Largest 3 tables:\n")[1].splitlines()
    assert len(largest) == 3 and all(re.search(r"rows  vacuumed .+, analyzed .+$", line) for line in largest)


def test_db_maintenance_vacuums_and_analyzes_every_schema_with_progress(committed_tenants, capsys):
    committed_tenants("alice")

    call_command("db_maintenance")

    out = capsys.readouterr().out
    assert re.search(rf"^\[\d+/\d+\] alice: {table_count('alice')} tables vacuumed and analyzed", out, re.M)
    assert out.splitlines()[0].startswith("[1/") and " public: " in out.splitlines()[0]
    with connect() as conn:
        never = conn.execute(
            "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = 'alice' "
            "AND (last_vacuum IS NULL OR last_analyze IS NULL)"
        ).fetchone()[0]
    assert never == 0


def test_db_maintenance_of_an_unknown_schema_lists_the_known_ones(committed_tenants):
    committed_tenants("alice")
    with pytest.raises(CommandError, match="No schema “nobody” with tables. Schemas: public, alice"):
        call_command("db_maintenance", "--schema", "nobody")
