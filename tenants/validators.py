"""Rules for the subdomain a company picks. Plain Python so forms and services share them."""

import re
from zoneinfo import available_timezones

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
