"""The base every API view inherits: key authentication, scopes, the monthly quota, rate
headers and the JSON error shape come with it, so a new endpoint cannot forget them.

Subclasses may not replace the machinery (PostHog's routing refuses such views too);
`tests/isolation` enumerates the URL patterns and checks every API view is one of these.
"""

from rest_framework import pagination, permissions, viewsets
from rest_framework.views import APIView

from api.authentication import ApiKeyAuthentication
from api.errors import QuotaExceeded
from api.scopes import scopes_covering
from tenants.models import ApiKey

PROTECTED = (
    "authentication_classes",
    "permission_classes",
    "initial",
    "finalize_response",
    "get_authenticators",
)


class KeyScopePermission(permissions.BasePermission):
    """Read keys may only read; writes need a write key; `required_scope` raises the bar."""

    message = "This API key's scope does not allow this request. Create a key with a wider scope."

    def has_permission(self, request, view) -> bool:
        key = request.auth
        return isinstance(key, ApiKey) and key.scope in scopes_covering(view, request.method)


class PulsePagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class TenantApiMixin:
    """Authentication, scope and quota for every API view; the tenant is `self.tenant`."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [permissions.IsAuthenticated, KeyScopePermission]
    required_scope = ApiKey.Scope.READ
    # A view whose POST only reads (asking the knowledge base) sets this; read keys may use it.
    posts_are_reads = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__ != __name__:
            overridden = [name for name in PROTECTED if name in cls.__dict__]
            if overridden:
                raise TypeError(
                    f"{cls.__name__} may not override {', '.join(overridden)}: tenant scoping lives there."
                )

    @property
    def tenant(self):
        return self.request.auth.tenant

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Counted (or refused) by the statement that authenticated the key (tenants.admission).
        decision = request.admission.quota
        request.quota = decision
        if not decision.allowed:
            raise QuotaExceeded(decision)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        decision = getattr(request, "quota", None)
        if decision is not None:
            response["X-RateLimit-Limit"] = str(decision.limit)
            response["X-RateLimit-Remaining"] = str(decision.remaining)
            response["X-RateLimit-Reset"] = str(int(decision.resets_at.timestamp()))
        return response


class TenantApiView(TenantApiMixin, APIView):
    pass


class TenantViewSet(TenantApiMixin, viewsets.GenericViewSet):
    pagination_class = PulsePagination
