"""GET /health/ on every host: check names and ok/failed for anyone (load balancers, uptime
probes); details for a signed-in member of Pulse's staff (the back office's sign-in, on the base
host) or for a caller with HEALTH_TOKEN (X-Health-Token header or ?token=)."""

import hmac

from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_tenants.utils import get_public_schema_name

from ops import backup_status
from ops.health import health_checks
from ops.selectors import RECENT_DAYS, deliveries_failing, import_failures_by_tenant, incidents_open


@never_cache
@require_GET
def health(request):
    checks = health_checks()
    healthy = all(check.ok for check in checks)
    if _may_see_details(request):
        body = {check.name: {"ok": check.ok, "detail": check.detail} for check in checks}
    else:
        body = {check.name: "ok" if check.ok else "failed" for check in checks}
    return JsonResponse(
        {"status": "ok" if healthy else "failing", "checks": body}, status=200 if healthy else 503
    )


def _may_see_details(request) -> bool:
    token = request.headers.get("X-Health-Token") or request.GET.get("token", "")
    if (
        settings.HEALTH_TOKEN
        and token
        and hmac.compare_digest(token.encode(), settings.HEALTH_TOKEN.encode())
    ):
        return True
    # A tenant host's users are the tenant's, whatever their flags: only Pulse's own staff count.
    staff_host = connection.schema_name == get_public_schema_name()
    return staff_host and request.user.is_authenticated and request.user.is_staff


def operations(request):
    """The staff back office's operations page (wrapped in admin_view: staff only)."""
    checks = health_checks()
    context = {
        **admin.site.each_context(request),
        "title": "Operations",
        "checks": checks,
        "healthy": all(check.ok for check in checks),
        "backups": backup_status.backups_recent(limit=10),
        "drill": backup_status.drill_last(),
        "incidents": incidents_open(),
        "deliveries_failing": deliveries_failing(),
        "failures": import_failures_by_tenant(),
        "failure_days": RECENT_DAYS,
    }
    return render(request, "ops/operations.html", context)
