"""Host → tenant routing, with friendly pages for unknown hosts and suspended tenants."""

from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware

from tenants.services import tenant_touch


class PulseTenantMiddleware(TenantMainMiddleware):
    """django-tenants' router, answering an unknown host with a page instead of a trace."""

    def no_tenant_found(self, request, hostname):
        return render(request, "tenants/unknown_host.html", {"hostname": hostname}, status=404)


class SuspendedTenantMiddleware:
    """A suspended tenant's portal shows why and whom to contact; its data stays."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.schema_name == "public":
            return self.get_response(request)
        # The API answers a suspended tenant's keys itself, in JSON (tenants.api).
        if tenant.is_suspended and not request.path.startswith("/api/"):
            return render(request, "tenants/suspended.html", {"tenant": tenant}, status=403)
        tenant_touch(tenant=tenant)
        return self.get_response(request)


class RejectNulBytesMiddleware:
    """PostgreSQL text cannot hold NUL bytes; a query parameter with one would reach a
    filter and fail as a 500. Refuse such requests up front with a clear 400."""

    MESSAGE = "The request contains a NUL character (\\x00) in a query parameter; remove it and retry."

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or "\x00" in value for key, value in request.GET.items()):
            if request.path.startswith("/api/"):
                body = {"error": {"code": "invalid", "message": self.MESSAGE, "fields": {}}}
                return JsonResponse(body, status=400)
            return HttpResponseBadRequest(self.MESSAGE)
        return self.get_response(request)
