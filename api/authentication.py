"""`Authorization: Token <key>` (or `Bearer <key>`) for the API. The key selects its tenant:
on the base host the request switches to that tenant's schema; on a tenant host the key
must belong to that tenant."""

from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions

from tenants.models import ApiKey, Tenant
from tenants.selectors import api_key_resolve
from tenants.services import api_key_touch, tenant_touch

SCHEMES = ("token", "bearer")


@dataclass(frozen=True)
class ApiClient:
    """What `request.user` is for API calls: the key, standing for its tenant."""

    key: ApiKey

    is_authenticated = True
    is_anonymous = False

    @property
    def tenant(self) -> Tenant:
        return self.key.tenant


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        presented = self._presented_key(request)
        if presented is None:
            return None
        key = api_key_resolve(presented)
        self._refuse_unusable(key)
        self._bind_tenant(request, key.tenant)
        api_key_touch(key=key)
        tenant_touch(tenant=key.tenant)
        return ApiClient(key=key), key

    def authenticate_header(self, request) -> str:
        return 'Token realm="api"'

    @staticmethod
    def _presented_key(request) -> str | None:
        scheme, _, credential = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() not in SCHEMES:
            return None
        if not credential.strip():
            raise exceptions.AuthenticationFailed("The Authorization header has no key after its scheme.")
        return credential.strip()

    @staticmethod
    def _refuse_unusable(key: ApiKey | None) -> None:
        if key is None:
            raise exceptions.AuthenticationFailed("This API key is not valid. Check it was copied whole.")
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                f"This API key was revoked at {key.revoked_at.isoformat()}."
            )
        if key.expires_at is not None and key.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(f"This API key expired at {key.expires_at.isoformat()}.")
        if key.tenant.is_suspended:
            reason = key.tenant.suspended_reason or "contact Pulse support to reactivate it"
            raise exceptions.PermissionDenied(f"This workspace is suspended: {reason}.")

    @staticmethod
    def _bind_tenant(request, tenant: Tenant) -> None:
        host_tenant = getattr(request._request, "tenant", None)
        on_base_host = host_tenant is None or host_tenant.schema_name == settings.PUBLIC_SCHEMA_NAME
        if not on_base_host and host_tenant.pk != tenant.pk:
            raise exceptions.PermissionDenied(
                "This API key belongs to another workspace. Use it on its own workspace's host or the base host."
            )
        request._request.tenant = tenant
        connection.set_tenant(tenant)
