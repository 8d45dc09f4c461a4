"""Host → tenant routing, with friendly pages for unknown hosts and suspended tenants."""

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
