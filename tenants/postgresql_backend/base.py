"""django-tenants' PostgreSQL backend, minus the `SET search_path` that changes nothing.

django-tenants forgets the session's search_path on every set_tenant/set_schema call, so each
request (the middleware starts on the public schema, then moves to the host's or the API key's
tenant) re-issues it before its first query even when that path is already in force: a round
trip per request. This backend remembers the path the last SET put in force on the session and
keeps it when a switch comes back to it. It forgets it wherever django-tenants forgets its own
(a rollback, which may undo a SET, and a closed connection), so a SET is never skipped wrongly.
"""

from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.postgresql.operations import DatabaseOperations
from django_tenants.postgresql_backend import base


class Operations(DatabaseOperations):
    def last_executed_query(self, cursor, sql, params):
        """What query logging records: psycopg keeps no text of a statement it ran prepared
        (`prepared_cursor`), so that one is logged as written, with its placeholders."""
        return super().last_executed_query(cursor, sql, params) or sql


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = Operations

    def __init__(self, *args, **kwargs):
        self.session_search_path = None  # before super(), which switches to the public schema
        super().__init__(*args, **kwargs)

    def set_tenant(self, tenant, include_public=True):
        super().set_tenant(tenant, include_public)
        if (
            self.session_search_path is not None
            and self.session_search_path == self._get_cursor_search_paths()
        ):
            self.search_path_set_schemas = self.session_search_path

    def _handle_search_path(self, cursor=None):
        super()._handle_search_path(cursor)
        self.session_search_path = self.search_path_set_schemas

    def close(self):
        self.session_search_path = None
        super().close()

    def rollback(self):
        self.session_search_path = None
        super().rollback()

    def savepoint_rollback(self, sid):
        try:
            super().savepoint_rollback(sid)
        finally:
            self.session_search_path = None

    def prepared_cursor(self):
        """A cursor (logged and wrapped like any other) whose statements PostgreSQL plans once per
        connection: Django binds parameters client-side and never prepares, so every statement is
        planned afresh, which is right for most and wasteful for the one every API request runs
        (planning it took four times as long as running it). It does not bring the session's
        search_path up to date: for statements that name their schemas. Needs a session-level
        pooler or none: a transaction-level PgBouncer would send a prepared statement to a
        server session that lacks it."""
        self.ensure_connection()
        # Django turns psycopg's preparing off (None). 0 prepares a statement on its first run, and
        # only a server-binding cursor's: Django's own cursors bind client-side and never prepare.
        # psycopg keeps the connection's 100 most recent prepared statements.
        self.connection.prepare_threshold = 0
        return self._prepare_cursor(ServerBindingCursor(self.connection))
