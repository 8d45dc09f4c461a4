from django.test import Client

from tenants.models import ApiKey, Tenant
from tests.tenants.factories import ApiKeyFactory


def new_key(tenant: Tenant, scope: str = ApiKey.Scope.WRITE, **extra) -> str:
    return ApiKeyFactory(tenant=tenant, scope=scope, **extra).full_key


def api(key: str | None, host: str | None = None, scheme: str = "Token") -> Client:
    """A client on `host` (a tenant slug, or None for the base host) sending `key`."""
    headers = {"HTTP_HOST": f"{host}.localhost" if host else "localhost"}
    if key:
        headers["HTTP_AUTHORIZATION"] = f"{scheme} {key}"
    return Client(**headers)


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "fields"} <= set(body["error"]), body
    return body["error"]
