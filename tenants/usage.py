"""Monthly metering: which month a moment belongs to for a tenant, and the atomic counter."""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone

from tenants.models import Tenant

# One statement both creates the month's row and counts the request, and only while the
# count is under the limit: PostgreSQL locks the row and re-checks the WHERE against its
# latest version, so N concurrent callers never get more than `limit` successes.
CONSUME_SQL = """
    INSERT INTO public.tenants_usagemonth (tenant_id, month, requests, documents, last_request_at)
    SELECT %(tenant)s, %(month)s, 1, 0, %(now)s WHERE %(limit)s > 0
    ON CONFLICT (tenant_id, month) DO UPDATE
        SET requests = tenants_usagemonth.requests + 1, last_request_at = EXCLUDED.last_request_at
        WHERE tenants_usagemonth.requests < %(limit)s
    RETURNING requests
"""
USED_SQL = "SELECT requests FROM public.tenants_usagemonth WHERE tenant_id = %(tenant)s AND month = %(month)s"


@dataclass(frozen=True)
class QuotaDecision:
    allowed: bool
    limit: int
    used: int
    resets_at: dt.datetime

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


def month_start(tenant: Tenant, now: dt.datetime | None = None) -> dt.date:
    """First day of the tenant's current month, in the tenant's own timezone."""
    local = (now or timezone.now()).astimezone(ZoneInfo(tenant.timezone))
    return local.date().replace(day=1)


def month_reset_at(tenant: Tenant, now: dt.datetime | None = None) -> dt.datetime:
    """The moment the next month starts for the tenant (midnight on the 1st, local time)."""
    start = month_start(tenant, now)
    following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return dt.datetime.combine(following, dt.time.min, tzinfo=ZoneInfo(tenant.timezone))


def request_limit(tenant: Tenant) -> int:
    """API requests a month: the tenant's own limit when it has one, else its plan's."""
    if tenant.custom_max_requests_per_month is not None:
        return tenant.custom_max_requests_per_month
    return tenant.plan.max_api_requests_per_month if tenant.plan else 0


def document_limit(tenant: Tenant) -> int:
    """Documents (knowledge base) and uploads a month: the tenant's own limit, else its plan's."""
    if tenant.custom_max_documents is not None:
        return tenant.custom_max_documents
    return tenant.plan.max_documents if tenant.plan else 0


def usage_consume_request(*, tenant: Tenant, now: dt.datetime | None = None) -> QuotaDecision:
    """Count one API request against this month's quota, or refuse it when none is left."""
    now = now or timezone.now()
    params = {
        "tenant": tenant.pk,
        "month": month_start(tenant, now),
        "now": now,
        "limit": request_limit(tenant),
    }
    # One autocommitted statement: cheaper than a transaction block around it (~0.5 ms).
    with connection.cursor() as cursor:
        cursor.execute(CONSUME_SQL, params)
        counted = cursor.fetchone()
        if counted is None:
            cursor.execute(USED_SQL, params)
        current = counted or cursor.fetchone() or (0,)
    return QuotaDecision(
        allowed=counted is not None,
        limit=params["limit"],
        used=current[0],
        resets_at=month_reset_at(tenant, now),
    )
