"""`Authorization: Token <key>` (or `Bearer <key>`) for the API. The key selects its tenant:
on the base host the request switches to that tenant's schema; on a tenant host the key
must belong to that tenant.

One statement (tenants.admission) verifies the key and counts the request against the quota;
it runs before the connection moves to the tenant's schema, which the statement does not need,
so a request that touches no tenant table never sets the tenant's search_path."""

from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions

from api.scopes import scopes_covering
from tenants.admission import Admission, api_request_admit
from tenants.models import ApiKey, Tenant
from tenants.services import tenant_touch

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
        now = timezone.now()
        host_tenant = self._host_tenant(request)
        admission = api_request_admit(
            presented=presented,
            scopes=scopes_covering(request.parser_context["view"], request.method),
            host_tenant_id=host_tenant.pk if host_tenant else None,
            now=now,
        )
        self._refuse_unusable(admission, now)
        key = admission.key
        self._bind_tenant(request, key.tenant, host_tenant)
        # The view refuses what the key's scope does not cover, then what the quota does not.
        request.admission = admission
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
    def _host_tenant(request) -> Tenant | None:
        """The tenant whose host was called, None on the base host."""
        tenant = getattr(request._request, "tenant", None)
        if tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
            return None
        return tenant

    @staticmethod
    def _refuse_unusable(admission: Admission | None, now) -> None:
        if admission is None:
            raise exceptions.AuthenticationFailed("This API key is not valid. Check it was copied whole.")
        key = admission.key
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                f"This API key was revoked at {key.revoked_at.isoformat()}."
            )
        if key.expires_at is not None and key.expires_at <= now:
            raise exceptions.AuthenticationFailed(f"This API key expired at {key.expires_at.isoformat()}.")
        if key.tenant.is_suspended:
            reason = key.tenant.suspended_reason or "contact Pulse support to reactivate it"
            raise exceptions.PermissionDenied(f"This workspace is suspended: {reason}.")

    @staticmethod
    def _bind_tenant(request, tenant: Tenant, host_tenant: Tenant | None) -> None:
        if host_tenant is not None and host_tenant.pk != tenant.pk:
            raise exceptions.PermissionDenied(
                "This API key belongs to another workspace. Use it on its own workspace's host or the base host."
            )
        request._request.tenant = tenant
        connection.set_tenant(tenant)
