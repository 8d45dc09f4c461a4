"""django-tenants' PostgreSQL backend, minus the `SET search_path` that changes nothing.

django-tenants forgets the session's search_path on every set_tenant/set_schema call, so each
request (the middleware starts on the public schema, then moves to the host's or the API key's
tenant) re-issues it before its first query even when that path is already in force: a round
trip per request. This backend remembers the path the last SET put in force on the session and
keeps it when a switch comes back to it. It forgets it wherever django-tenants forgets its own
(a rollback, which may undo a SET, and a closed connection), so a SET is never skipped wrongly.
"""

from django_tenants.postgresql_backend import base


class DatabaseWrapper(base.DatabaseWrapper):
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
