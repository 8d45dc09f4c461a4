"""Sign-in throttling (django-axes) made tenant-aware, and the client address it and the
registration limit count by.

Axes keeps its attempts in the public schema, one table for every workspace. The same username
exists in many schemas ("admin"), so the name axes stores is a lockout key, "<schema>:<username>":
failures on one workspace never lock the same name on another workspace nor Pulse staff.
"""

import datetime as dt
import ipaddress
import math
from http import HTTPStatus

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from users.selectors import lockout_ends_at, login_username

# Schema names are slugs and usernames cannot hold a colon, so the first one splits a key.
KEY_SEPARATOR = ":"
# axes' AccessAttempt.username is a varchar(255).
KEY_MAX_LENGTH = 255


def lockout_key(*, schema_name: str, username: str) -> str:
    return f"{schema_name}{KEY_SEPARATOR}{username}"[:KEY_MAX_LENGTH]


def lockout_key_split(key: str) -> tuple[str, str]:
    """(schema name, username) of a lockout key."""
    schema_name, _, username = key.partition(KEY_SEPARATOR)
    return schema_name, username


def lockout_username(request: HttpRequest, credentials: dict | None) -> str:
    """AXES_USERNAME_CALLABLE: the lockout key of the account being signed in to.

    The schema is the connection's (the request's tenant; public for staff). An e-mail address
    resolves to its account, so switching between username and address gains no extra tries.
    """
    typed = (credentials or request.POST).get("username") or ""
    return lockout_key(schema_name=connection.schema_name, username=login_username(typed))


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address, also AXES_CLIENT_IP_CALLABLE.

    Each of the TRUSTED_PROXY_COUNT proxies in front of us appends the address it received the
    request from to X-Forwarded-For, so the client is the entry that many places from the right;
    what stands left of it is the client's own word. Without trusted proxies the header is
    ignored. A missing or malformed entry falls back to the peer address (the nearest proxy).
    """
    peer = request.META.get("REMOTE_ADDR") or None
    hops = settings.TRUSTED_PROXY_COUNT
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if not hops or len(forwarded) < hops:
        return peer
    try:
        return str(ipaddress.ip_address(forwarded[-hops]))
    except ValueError:
        return peer


def retry_phrase(at: dt.datetime) -> str:
    """ "at 16:45 UTC (in 15 minutes)": rounded up to the minute, so retrying then works."""
    minute = at.replace(second=0, microsecond=0)
    if minute < at:
        minute += dt.timedelta(minutes=1)
    minutes = max(1, math.ceil((at - timezone.now()).total_seconds() / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"at {minute.astimezone(dt.UTC):%H:%M} UTC (in {minutes} {unit})"


def lockout_message(request: HttpRequest, username: str) -> str:
    """What a locked-out sign-in page says: why, when to retry, and who can unlock sooner."""
    key = lockout_username(request, {"username": username})
    ends_at = lockout_ends_at(lockout_key=key, ip_address=client_address(request))
    is_staff_site = connection.schema_name == settings.PUBLIC_SCHEMA_NAME
    unlocker = "another Pulse staff member" if is_staff_site else "your workspace admin"
    return (
        "Too many failed sign-ins for this account from your address. "
        f"Try again {retry_phrase(ends_at)}, or ask {unlocker} to unlock it."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse, credentials: dict
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the sign-in page the view rendered, which already carries the
    lockout message (users.forms), answered as 429 Too Many Requests."""
    original_response.status_code = HTTPStatus.TOO_MANY_REQUESTS
    return original_response
