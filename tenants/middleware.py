"""Host → tenant routing, with friendly pages for unknown hosts and suspended tenants, and the
refusals that come before any view: each answers JSON in the API's error shape under /api/."""

from django.http import HttpResponse
from django.shortcuts import render
from django_tenants.middleware.main import TenantMainMiddleware

from tenants.api.errors import error_response, is_api_request, status_error_response
from tenants.services import tenant_touch


def refusal(request, status: int, code: str, message: str) -> HttpResponse:
    """The API's JSON error under /api/, the sentence as plain text elsewhere."""
    if is_api_request(request):
        return error_response(status, code, message)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class ApiErrorsAsJsonMiddleware:
    """Under /api/, an error that is not JSON yet — Django's 404 and 500 pages, the empty 405 of a
    method decorator, its debug pages — becomes the API's JSON error, so that no client has to
    read HTML. It is the outermost middleware, so it sees every other layer's answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code >= 400 and is_api_request(request) and not _is_json(response):
            return status_error_response(request, response)
        return response


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


class PulseTenantMiddleware(TenantMainMiddleware):
    """django-tenants' router, answering an unknown host with a page instead of a trace."""

    def no_tenant_found(self, request, hostname):
        if is_api_request(request):
            message = (
                f"There is no Pulse workspace at {hostname}. Call your workspace's host or the base host; "
                "your API key selects the workspace."
            )
            return error_response(404, "not_found", message)
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
            return refusal(request, 400, "invalid", self.MESSAGE)
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
            return refusal(request, 411, "length_required", self.MESSAGE)
        return self.get_response(request)
