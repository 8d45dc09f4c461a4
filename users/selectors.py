"""Reads about users and their sign-ins, in whatever schema is current."""

import datetime as dt

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from users.models import AuditEvent, User


def login_username(identifier: str) -> str:
    """The username a sign-in identifier stands for: an e-mail address of a user in the current
    schema (any case) resolves to that user's username; anything else is taken as typed."""
    if "@" not in identifier:
        return identifier
    matches = User.objects.filter(email__iexact=identifier).order_by("pk").values_list("username", flat=True)
    return matches.first() or identifier


def lockout_ends_at(*, lockout_key: str, ip_address: str | None) -> dt.datetime:
    """When a locked-out account may sign in again from this address: the cool-off after its
    last counted failure (refused attempts during the lockout are not counted)."""
    attempts = AccessAttempt.objects.filter(username=lockout_key, ip_address=ip_address)
    last_failure = attempts.aggregate(last=Max("attempt_time"))["last"] or timezone.now()
    return last_failure + settings.AXES_COOLOFF_TIME


def team_members():
    """The workspace's users for the team page: active first, then by name."""
    return User.objects.order_by("-is_active", "full_name", "username")


def audit_events(
    *,
    target_type: str = "",
    actor: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
):
    """The current schema's audit log, newest first; `actor` matches any part of the name and
    the days are whole days in the active time zone, both ends included."""
    events = AuditEvent.objects.all()
    if target_type:
        events = events.filter(target_type=target_type)
    if actor:
        events = events.filter(actor__icontains=actor)
    if date_from:
        events = events.filter(at__date__gte=date_from)
    if date_to:
        events = events.filter(at__date__lte=date_to)
    return events
