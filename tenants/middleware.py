"""Host → tenant routing, with friendly pages for unknown hosts and suspended tenants, and the
refusals that come before any view.

Each refusal carries its code and sentence in `response.api_error` (`labelled`): under /api/,
api.middleware.ApiErrorsAsJsonMiddleware answers it in the API's JSON error shape, which this
foundation layer does not know.
"""

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware

from tenants.services import host_url, tenant_touch


def labelled(response: HttpResponse, code: str, message: str) -> HttpResponse:
    """The response, with what an API client should read instead: an error code and a sentence."""
    response.api_error = (code, message)
    return response


def refusal(status: int, code: str, message: str) -> HttpResponse:
    """The sentence as plain text (the API's JSON error under /api/)."""
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    return labelled(response, code, message)


class PulseTenantMiddleware(TenantMainMiddleware):
    """django-tenants' router, answering an unknown host with a page instead of a trace."""

    def no_tenant_found(self, request, hostname):
        context = {"hostname": hostname, "home_url": host_url(request, settings.PULSE_BASE_DOMAIN)}
        page = render(request, "tenants/unknown_host.html", context, status=404)
        message = (
            f"There is no Pulse workspace at {hostname}. Call your workspace's host or the base host; "
            "your API key selects the workspace."
        )
        return labelled(page, "not_found", message)


class SuspendedTenantMiddleware:
    """A suspended tenant's portal shows why and whom to contact; its data stays."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.schema_name == "public":
            return self.get_response(request)
        # The API answers a suspended tenant's keys itself, in JSON (api.authentication).
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
            return refusal(400, "invalid", self.MESSAGE)
        return self.get_response(request)


class RequireContentLengthMiddleware:
    """Django reads a request body only as far as its Content-Length, so a chunked body (which has
    none) would look empty: a file upload "without a file", a JSON call "without fields". Say so."""

    MESSAGE = (
        "The request body was sent in chunks (Transfer-Encoding: chunked), which Pulse does not read. "
        "Send it with a Content-Length header."
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            return refusal(411, "length_required", self.MESSAGE)
        return self.get_response(request)
