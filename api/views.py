"""First endpoints: who am I, usage, and key management (admin-scoped keys)."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import filters, mixins, status
from rest_framework.response import Response

from api.base import TenantApiView, TenantViewSet
from api.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    MeSerializer,
    UsageSerializer,
)
from tenants.models import ApiKey
from tenants.services import api_key_create, api_key_revoke
from users.audit import api_actor

ME_EXAMPLE = {
    "tenant": {
        "name": "Demo Company",
        "slug": "demo",
        "status": "active",
        "timezone": "UTC",
        "created_at": "2026-11-23T00:53:53Z",
    },
    "plan": {
        "name": "free",
        "max_accounts": 25,
        "max_documents": 50,
        "max_api_requests_per_month": 1000,
        "max_users": 3,
    },
    "usage": {
        "month": "2026-11-01",
        "resets_at": "2026-12-01T00:00:00Z",
        "requests": 12,
        "documents": 0,
        "last_request_at": "2026-11-23T01:10:00Z",
        "last_upload_at": None,
        "total_requests": 12,
        "total_documents": 0,
        "request_limit": 1000,
        "document_limit": 50,
    },
    "key": {
        "id": 1,
        "name": "ci",
        "prefix": "pk_live_ab12cd34",
        "scope": "write",
        "created_by": "admin",
        "created_at": "2026-11-23T00:55:00Z",
        "expires_at": None,
        "revoked_at": None,
        "last_used_at": "2026-11-23T01:10:00Z",
    },
}


# One serializer instance for every /me/ response: turning objects into JSON keeps no state on a
# serializer, and building one per request (DRF deep-copies each of its some thirty fields into
# every new instance) took a fifth of the request.
ME_OUTPUT = MeSerializer()


@csrf_exempt  # it only reads; other methods get a 405, not a CSRF refusal
@require_safe
def ping(request):
    """Liveness probe for load balancers: no key, no database work beyond host routing."""
    return JsonResponse({"status": "ok"})


class MeApi(TenantApiView):
    @extend_schema(
        summary="The workspace, plan, usage and key behind this request",
        responses=MeSerializer,
        examples=[OpenApiExample("A free-plan workspace", value=ME_EXAMPLE, response_only=True)],
    )
    def get(self, request):
        tenant = self.tenant
        data = {"tenant": tenant, "plan": tenant.plan, "usage": request.admission.usage, "key": request.auth}
        return Response(ME_OUTPUT.to_representation(data))


class UsageApi(TenantApiView):
    @extend_schema(
        summary="This month's metered use and totals",
        responses=UsageSerializer,
        examples=[OpenApiExample("Mid-month", value=ME_EXAMPLE["usage"], response_only=True)],
    )
    def get(self, request):
        return Response(UsageSerializer(request.admission.usage).data)


@extend_schema(tags=["keys"])
@extend_schema_view(
    list=extend_schema(
        summary="List keys (never their secrets)",
        parameters=[
            OpenApiParameter("revoked", bool, description="Only revoked (true) or only live (false) keys.")
        ],
    ),
    retrieve=extend_schema(summary="One key (never its secret)"),
)
class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The workspace's API keys. Needs a key with the admin scope."""

    serializer_class = ApiKeySerializer
    required_scope = ApiKey.Scope.ADMIN
    filter_backends = [filters.OrderingFilter]
    ordering_fields = ["created_at", "name", "last_used_at", "expires_at"]
    ordering = ["-created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no key
            return ApiKey.objects.none()
        keys = ApiKey.objects.filter(tenant=self.tenant)
        revoked = self.request.query_params.get("revoked")
        if revoked in ("true", "false"):
            keys = keys.filter(revoked_at__isnull=revoked == "false")
        return keys

    @extend_schema(
        summary="Create a key; the full key is in the response once",
        request=ApiKeyCreateSerializer,
        responses={201: ApiKeyCreatedSerializer},
        examples=[OpenApiExample("Create", value={"name": "CRM sync", "scope": "write"}, request_only=True)],
    )
    def create(self, request):
        form = ApiKeyCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        key, full_key = api_key_create(
            tenant=self.tenant,
            created_by=api_actor(request.auth.prefix),
            actor=api_actor(request.auth.prefix),
            **form.validated_data,
        )
        body = {**ApiKeySerializer(key).data, "key": full_key}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Revoke a key; its next request is refused", responses={204: None})
    def destroy(self, request, pk=None):
        api_key_revoke(key=self.get_object(), actor=api_actor(request.auth.prefix))
        return Response(status=status.HTTP_204_NO_CONTENT)
