"""Rules for what a company types: its subdomain, time zone, Slack webhook. Plain Python so forms
and services share them."""

import re
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,28})[a-z0-9]$")

# Host names Pulse uses itself or that would confuse users and mail filters.
RESERVED_SLUGS = frozenset(
    {
        "www",
        "admin",
        "api",
        "public",
        "static",
        "media",
        "app",
        "apps",
        "mail",
        "email",
        "smtp",
        "ftp",
        "help",
        "support",
        "status",
        "docs",
        "blog",
        "dashboard",
        "login",
        "logout",
        "register",
        "signup",
        "account",
        "accounts",
        "billing",
        "pulse",
        "root",
        "system",
        "test",
        "demo-admin",
        "internal",
        "cdn",
        "assets",
        "auth",
        "health",
        "tenant-base",
        "tenant_base",
        "postgres",
        "pg-catalog",
        "information-schema",
    }
)


def validate_slug(slug: str) -> None:
    """Raise ValidationError with a message that says what to change."""
    if not SLUG_PATTERN.match(slug):
        raise ValidationError(
            "Use 3 to 30 lowercase letters, digits or hyphens, starting and ending with a "
            "letter or digit (for example: acme-corp).",
            code="format",
        )
    if slug in RESERVED_SLUGS or slug.startswith("pg-"):
        raise ValidationError(
            f"“{slug}” is reserved by Pulse. Please choose another subdomain.", code="reserved"
        )


def validate_timezone(name: str) -> None:
    if name not in available_timezones():
        raise ValidationError(f"“{name}” is not a time zone; use an IANA name such as Europe/Berlin.")


SLACK_WEBHOOK_HOST = "hooks.slack.com"


def slack_webhook_refusal(url: str) -> str:
    """Why Pulse will not post to `url` ("" when it will). A tenant types it and Pulse's servers
    post to it, so only Slack's own https host: never this server's network. Deployments that
    allow private addresses (tests, a local receiver) may name any http(s) URL."""
    parts = urlsplit(url)
    if settings.SYNC_ALLOW_PRIVATE_ADDRESSES and parts.scheme in ("http", "https") and parts.hostname:
        return ""
    if parts.scheme != "https" or parts.hostname != SLACK_WEBHOOK_HOST or parts.port not in (None, 443):
        return (
            f"Give a Slack incoming-webhook URL: https://{SLACK_WEBHOOK_HOST}/services/… "
            "(Slack → Apps → Incoming Webhooks)."
        )
    return ""
