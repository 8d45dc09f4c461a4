"""The backend (tenants.postgresql_backend) sets the search_path only when a switch changes it."""

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tenants.connection import tenant_connection


def search_path_sets_while(switches) -> list[str]:
    """The SET statements issued while `switches` runs, each switch followed by a query."""
    with CaptureQueriesContext(connection) as queries:
        for schema in switches:
            tenant_connection().set_schema(schema)
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SET search_path")]


def test_switching_back_to_the_schema_in_force_sets_nothing(alice):
    search_path_sets_while(["public"])

    assert search_path_sets_while(["public", "public"]) == []


def test_each_real_change_sets_the_path(alice):
    sets = search_path_sets_while(["public", "alice", "alice", "public"])

    assert sets == ['SET search_path = "alice","public"', 'SET search_path = "public"']


def test_a_switch_without_a_query_leaves_the_session_where_it_was(alice):
    search_path_sets_while(["public"])
    tenant_connection().set_schema("alice")  # no query: the session stays on public

    assert search_path_sets_while(["public"]) == []


def test_after_a_rollback_the_path_is_set_again(alice):
    search_path_sets_while(["public"])
    try:
        with transaction.atomic():
            search_path_sets_while(["alice"])
            raise RuntimeError("undo")
    except RuntimeError:
        pass

    assert search_path_sets_while(["public"]) == ['SET search_path = "public"']
