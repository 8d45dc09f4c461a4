"""Django's database connection as django-tenants' backend makes it, typed.

The backend adds the current schema and the calls that switch it; Django's own type for the
connection knows neither, so code that mypy checks reaches them through tenant_connection().
"""

from typing import Protocol, cast

from django.db import connection


class TenantConnection(Protocol):
    schema_name: str

    def set_schema(self, schema_name: str, include_public: bool = True) -> None: ...

    def set_schema_to_public(self) -> None: ...


def tenant_connection() -> TenantConnection:
    return cast(TenantConnection, connection)
