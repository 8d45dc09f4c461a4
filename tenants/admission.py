"""Admitting an API request in one statement: verify the presented key, count the request
against its tenant's monthly quota, record the key's use, and read what the rate-limit headers
and the usage figures need.

Every API request runs this, so it costs one round trip: what can change between two requests
(revocation, expiry, suspension, plan and limits, usage) is read by the statement itself, so a
revoked key or a changed plan takes effect on the very next request with no cache to invalidate.
What never changes for a key, its salt, is kept in process (`_SALTS`) so that the secret can be
hashed before the statement and never travels to the database.
"""

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from tenants.keys import key_hash, key_split, legacy_key_digest
from tenants.models import ApiKey, Plan, Tenant
from tenants.selectors import model_columns, model_instances
from tenants.usage import QuotaDecision, usage_figures

# A key's use is written at most once a minute, so most requests write only the usage row.
LAST_USED_EVERY = dt.timedelta(seconds=60)
SALTS_HELD = 10_000

# `durability` lets this statement's commit return before its WAL reaches the disk (for this
# statement only: `true` makes the setting local to its transaction). The month's usage row stays
# locked until the commit, so waiting for the disk there would line up every concurrent request
# of a tenant behind each flush. What it risks: if PostgreSQL itself crashes (not the app), the
# last fraction of a second of counts (at most 3 x wal_writer_delay, 0.6 s by default) is lost:
# requests then go uncounted, never counted twice, and the data stays consistent.
# `presented` finds the key (by prefix and hash, or a predecessor key by its digest) and decides,
# from the rows as they are now, whether it authenticates (live key of an active tenant, on its
# own host or the base host) and whether the request may be counted (its scope covers the
# request). The month and limit follow tenants.usage.month_start and request_limit.
# `counted` is the conditional upsert that keeps the quota exact: PostgreSQL locks the month's
# row and re-checks `requests < limit` against its latest version, so N concurrent callers never
# get more than `limit` successes. The final SELECT reads the usage rows as they were when the
# statement began (data-modifying CTEs are not visible to it), and Python adds this request.
ADMIT_SQL = f"""
WITH durability AS (
    SELECT set_config('synchronous_commit', 'off', true)
), presented AS (
    SELECT k.id AS key_id, k.tenant_id,
        date_trunc('month', %(now)s AT TIME ZONE t.timezone)::date AS month,
        COALESCE(t.custom_max_requests_per_month, p.max_api_requests_per_month, 0) AS request_limit,
        k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > %(now)s)
            AND t.status = %(active)s AND (%(host)s::bigint IS NULL OR t.id = %(host)s::bigint)
            AS authentic,
        k.scope = ANY(%(scopes)s) AS in_scope
    FROM public.tenants_apikey k
    JOIN public.tenants_tenant t ON t.id = k.tenant_id
    LEFT JOIN public.tenants_plan p ON p.id = t.plan_id
    CROSS JOIN durability
    WHERE {{match}}
), counted AS (
    INSERT INTO public.tenants_usagemonth AS u (tenant_id, month, requests, documents, last_request_at)
    SELECT tenant_id, month, 1, 0, %(now)s FROM presented
    WHERE authentic AND in_scope AND request_limit > 0
    ON CONFLICT (tenant_id, month) DO UPDATE
        SET requests = u.requests + 1, last_request_at = EXCLUDED.last_request_at
        WHERE u.requests < (SELECT request_limit FROM presented)
    RETURNING requests
), touched AS (
    UPDATE public.tenants_apikey SET last_used_at = %(now)s
    WHERE id = (SELECT key_id FROM presented WHERE authentic)
        AND (last_used_at IS NULL OR last_used_at <= %(touch_before)s)
    RETURNING last_used_at
)
SELECT {model_columns(ApiKey, "k")}, {model_columns(Tenant, "t")}, {model_columns(Plan, "p")},
    presented.authentic, presented.in_scope, presented.request_limit, counted.requests, touched.last_used_at,
    used.month_requests, used.month_documents, used.month_last_request_at, used.month_last_upload_at,
    used.total_requests, used.total_documents
FROM presented
JOIN public.tenants_apikey k ON k.id = presented.key_id
JOIN public.tenants_tenant t ON t.id = presented.tenant_id
LEFT JOIN public.tenants_plan p ON p.id = t.plan_id
LEFT JOIN counted ON true
LEFT JOIN touched ON true
CROSS JOIN LATERAL (
    SELECT COALESCE(SUM(requests) FILTER (WHERE month = presented.month), 0) AS month_requests,
        COALESCE(SUM(documents) FILTER (WHERE month = presented.month), 0) AS month_documents,
        MAX(last_request_at) FILTER (WHERE month = presented.month) AS month_last_request_at,
        MAX(last_upload_at) FILTER (WHERE month = presented.month) AS month_last_upload_at,
        COALESCE(SUM(requests), 0) AS total_requests,
        COALESCE(SUM(documents), 0) AS total_documents
    FROM public.tenants_usagemonth WHERE tenant_id = presented.tenant_id
) used
"""
EXTRA_COLUMNS = 11  # after the three models' columns: authentic … total_documents
BY_PREFIX_SQL = ADMIT_SQL.format(match="k.prefix = %(prefix)s AND k.secret_hash = %(hash)s")
BY_DIGEST_SQL = ADMIT_SQL.format(match="k.legacy_digest = %(digest)s")
SALT_SQL = "SELECT salt FROM public.tenants_apikey WHERE prefix = %s"

# Prefix → salt of the keys this process has seen. A salt never changes, and a stale one (a
# deleted key's prefix drawn again) can only fail to match, which `_admit_by_prefix` retries.
_SALTS: dict[str, str] = {}


@dataclass(frozen=True)
class Admission:
    """The key (with its tenant and plan) as the statement found it, and what it decided."""

    key: ApiKey
    quota: QuotaDecision
    usage: dict


def api_request_admit(
    *,
    presented: str,
    scopes: Collection[str],
    host_tenant_id: int | None = None,
    now: dt.datetime | None = None,
) -> Admission | None:
    """Verify `presented` and count the request if the key authenticates (on the host of
    `host_tenant_id`, None for the base host) and has one of `scopes`, while the month's quota
    has room. None when no key matches; otherwise the caller refuses, in this order, a key that
    does not authenticate (revoked, expired, suspended tenant, another tenant's host), a scope
    that does not cover the request, and a request the quota did not allow."""
    now = now or timezone.now()
    params = {
        "now": now,
        "touch_before": now - LAST_USED_EVERY,
        "active": Tenant.Status.ACTIVE,
        "host": host_tenant_id,
        "scopes": list(scopes),
    }
    parts = key_split(presented)
    if parts is None:
        row = _run(BY_DIGEST_SQL, {**params, "digest": legacy_key_digest(presented)})
    else:
        row = _admit_by_prefix(*parts, params)
    return _admission(row, now) if row else None


def _admit_by_prefix(prefix: str, secret: str, params: dict) -> tuple | None:
    cached = _SALTS.get(prefix)
    salt = cached or _salt_fetch(prefix)
    row = _run(BY_PREFIX_SQL, {**params, "prefix": prefix, "hash": key_hash(salt, secret)}) if salt else None
    if row is None and cached is not None and _salt_fetch(prefix) not in (None, cached):
        return _admit_by_prefix(prefix, secret, params)  # the prefix now names a newer key
    return row


def _salt_fetch(prefix: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(SALT_SQL, [prefix])
        row = cursor.fetchone()
    _SALTS.pop(prefix, None)
    if row is None:
        return None
    if len(_SALTS) >= SALTS_HELD:  # bounded; the rare process that sees this many starts over
        _SALTS.clear()
    _SALTS[prefix] = row[0]
    return row[0]


def _run(sql: str, params: dict) -> tuple | None:
    # Prepared on the server (tenants.postgresql_backend): planning this statement took four
    # times as long as running it, on every request.
    with connection.prepared_cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(sql, params)
        return cursor.fetchone()


def _admission(row: tuple, now: dt.datetime) -> Admission:
    key, tenant, plan = model_instances(row, [ApiKey, Tenant, Plan])
    tenant.plan, key.tenant = plan, tenant
    authentic, in_scope, limit, counted, touched_at, *used = row[-EXTRA_COLUMNS:]
    month_requests, month_documents, last_request_at, last_upload_at, total_requests, total_documents = used
    key.last_used_at = touched_at or key.last_used_at
    if counted is not None:  # this request, which the snapshot the figures come from lacks
        total_requests += counted - month_requests
        month_requests, last_request_at = counted, now
    usage = usage_figures(
        tenant=tenant,
        now=now,
        month_requests=month_requests,
        month_documents=month_documents,
        month_last_request_at=last_request_at,
        month_last_upload_at=last_upload_at,
        total_requests=total_requests,
        total_documents=total_documents,
    )
    quota = QuotaDecision(
        allowed=counted is not None,
        limit=limit,
        used=_used(counted, month_requests, limit, tried=authentic and in_scope),
        resets_at=usage["resets_at"],
    )
    return Admission(key=key, quota=quota, usage=usage)


def _used(counted: int | None, snapshot: int, limit: int, *, tried: bool) -> int:
    """Requests counted this month. When the upsert was tried and refused, the month's row held
    at least `limit` as it re-checked it, even if the statement's older snapshot shows fewer (a
    concurrent request took the last one)."""
    if counted is not None:
        return counted
    return max(snapshot, limit) if tried else snapshot
