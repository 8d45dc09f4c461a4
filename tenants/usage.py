"""Monthly metering: which month a moment belongs to for a tenant, its limits, and the figures
shown about it. API requests are counted by tenants.admission, in the statement that admits them."""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils import timezone

from tenants.models import Tenant


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


def usage_figures(
    *,
    tenant: Tenant,
    now: dt.datetime,
    month_requests: int,
    month_documents: int,
    month_last_request_at: dt.datetime | None,
    month_last_upload_at: dt.datetime | None,
    total_requests: int,
    total_documents: int,
) -> dict:
    """What the portal's usage page and the API's usage figures show, from the tenant's usage
    rows however they were read (a selector, or the statement that admits an API request)."""
    return {
        "month": month_start(tenant, now),
        "resets_at": month_reset_at(tenant, now),
        "requests": month_requests,
        "documents": month_documents,
        "last_request_at": month_last_request_at,
        "last_upload_at": month_last_upload_at,
        "total_requests": total_requests,
        "total_documents": total_documents,
        "request_limit": request_limit(tenant),
        "document_limit": document_limit(tenant),
    }
