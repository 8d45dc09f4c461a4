"""GET /health/ on every host: check names and ok/failed for anyone (load balancers, uptime
probes); details for a signed-in member of Pulse's staff (the back office's sign-in, on the base
host) or for a caller with HEALTH_TOKEN (X-Health-Token header or ?token=).

Settings → Audit log lives here too: it reads what every app's services recorded
(users.audit), and its CSV export needs common, which the foundation apps may not import."""

import csv
import hmac
import json

from django.conf import settings
from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_tenants.utils import get_public_schema_name

from common.exports import csv_safe
from ops import backup_status
from ops.health import health_checks
from ops.selectors import RECENT_DAYS, deliveries_failing, import_failures_by_tenant, incidents_open
from users.decorators import admin_required
from users.forms import AuditFilterForm
from users.selectors import audit_events


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


AUDIT_COLUMNS = ("at", "actor", "action", "target_type", "target", "detail")


@admin_required
@require_http_methods(["GET"])
def audit_log(request):
    """Who changed settings, the team, keys, the health model and triggers, and when: filtered,
    50 to a page, or every match as CSV with `?format=csv`. Filters that do not parse are said
    on the page (400) rather than ignored, so a list is never taken for a filtered one."""
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "ops/audit.html", {"form": form, "page": None}, status=400)
    events = audit_events(**form.cleaned_data)
    if request.GET.get("format") == "csv":
        return _audit_csv(events)
    query = request.GET.copy()
    query.pop("page", None)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "ops/audit.html", {"form": form, "page": page, "query": query})


def _audit_csv(events) -> HttpResponse:
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    writer = csv.writer(response)
    writer.writerow(AUDIT_COLUMNS)
    for event in events.iterator():
        row = [event.at.isoformat(), event.actor, event.action, event.target_type, event.target]
        writer.writerow(
            [csv_safe(cell) for cell in row] + [csv_safe(json.dumps(event.detail, sort_keys=True))]
        )
    return response
