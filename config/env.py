"""Every environment variable Pulse reads, parsed strictly in one place.

A bad value fails at start with ImproperlyConfigured instead of surprising us later
(the habit of healthchecks' settings). The README and .env.example list the same names.
"""

import zoneinfo
from pathlib import Path

import environ

from config.embedded import running_url

BASE_DIR = Path(__file__).resolve().parent.parent
ONE_YEAR = 365 * 24 * 60 * 60

env = environ.Env()
# A developer may keep settings in .env; real deployments set the environment.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
# Unset or empty: the embedded server of a `make run` running in another terminal (config/embedded.py),
# else the conventional local server.
DATABASE_URL = (
    env.str("DATABASE_URL", default="")
    or running_url("DATABASE_URL")
    or "postgresql://postgres@127.0.0.1:5432/pulse"
)
REDIS_URL = env.str("REDIS_URL", default="") or running_url("REDIS_URL") or "redis://127.0.0.1:6379/0"
PULSE_BASE_DOMAIN = env.str("PULSE_BASE_DOMAIN", default="localhost")
PULSE_PORT = env.int("PORT", default=8000)
SEED_DEMO_DATA = env.bool("SEED_DEMO_DATA", default=True)
DEMO_ADMIN_PASSWORD = env.str("DEMO_ADMIN_PASSWORD", default="pulse-demo-2026")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
SUPPORT_EMAIL = env.str("SUPPORT_EMAIL", default="support@pulse.example")
# Outgoing mail, e.g. smtp+tls://user:password@smtp.example.com:587; empty: Pulse sends no e-mail.
EMAIL_URL = env.str("EMAIL_URL", default="")
SECURE_COOKIES = env.bool("SECURE_COOKIES", default=False)
INGEST_MAX_UPLOAD_MB = env.int("INGEST_MAX_UPLOAD_MB", default=200)
SALES_API_URL = env.str("SALES_API_URL", default="")
SALES_API_KEY = env.str("SALES_API_KEY", default="")
SYNC_ALLOW_PRIVATE_ADDRESSES = env.bool("SYNC_ALLOW_PRIVATE_ADDRESSES", default=False)
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "staticfiles"))


def whole_number(name: str, *, default: int, minimum: int) -> int:
    """An integer variable of at least `minimum`; anything else stops startup with a sentence."""
    raw = env.str(name, default=str(default))
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise environ.ImproperlyConfigured(f"{name}={raw!r} is not a whole number of at least {minimum}.")
    return value


# Sign-in throttling: this many wrong passwords for one account from one address lock that pair
# out for the cool-off. Registrations: submitted forms per address per clock hour.
LOGIN_FAILURE_LIMIT = whole_number("LOGIN_FAILURE_LIMIT", default=5, minimum=1)
LOGIN_COOLOFF_MINUTES = whole_number("LOGIN_COOLOFF_MINUTES", default=15, minimum=1)
REGISTRATIONS_PER_HOUR = whole_number("REGISTRATIONS_PER_HOUR", default=5, minimum=1)
# Proxies in front of Pulse that append to X-Forwarded-For. 0: the client is REMOTE_ADDR and the
# header, which anyone can send, is ignored.
TRUSTED_PROXY_COUNT = whole_number("TRUSTED_PROXY_COUNT", default=0, minimum=0)

if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise environ.ImproperlyConfigured(
        f"LOG_LEVEL={LOG_LEVEL!r} is not a log level; use DEBUG, INFO, WARNING, ERROR or CRITICAL."
    )
# Long imports of one tenant that may run at once (ingest/slots.py).
INGEST_SLOTS_PER_TENANT = whole_number("INGEST_SLOTS_PER_TENANT", default=1, minimum=1)
# Tenant schemas `bootstrap` migrates at once (forked processes); schemas already current are skipped.
MIGRATION_PROCESSES = whole_number("MIGRATION_PROCESSES", default=2, minimum=1)
# Production only: how long browsers keep to HTTPS for our hosts and their subdomains, and
# whether we ask to be preloaded into browsers (see README, Deploying).
SECURE_HSTS_SECONDS = whole_number("SECURE_HSTS_SECONDS", default=ONE_YEAR, minimum=0)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
# Knowledge base: how long an answer is served from the cache (a document change retires it
# sooner), and the optional generative model, any OpenAI-compatible chat-completions server.
KB_ANSWER_CACHE_SECONDS = whole_number("KB_ANSWER_CACHE_SECONDS", default=24 * 60 * 60, minimum=0)
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="")
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_MODEL = env.str("OPENAI_MODEL", default="")
OPENAI_TIMEOUT_SECONDS = whole_number("OPENAI_TIMEOUT_SECONDS", default=30, minimum=1)
if bool(OPENAI_BASE_URL) != bool(OPENAI_MODEL):
    raise environ.ImproperlyConfigured(
        "Set OPENAI_BASE_URL and OPENAI_MODEL together (and OPENAI_API_KEY if the server needs one), "
        "or neither to answer extractively."
    )

# Backups (ops/backups.py): where dumps go, how many days of them to keep, the optional off-site
# bucket (credentials and region through boto3's own AWS_* variables; the endpoint for an
# S3-compatible store other than AWS), and a folder holding pg_dump/pg_restore to prefer.
BACKUP_DIR = env.str("BACKUP_DIR", default=str(BASE_DIR / "var" / "backups"))
BACKUP_RETENTION_DAYS = whole_number("BACKUP_RETENTION_DAYS", default=30, minimum=1)
AWS_S3_BACKUP_BUCKET = env.str("AWS_S3_BACKUP_BUCKET", default="")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="")
PG_BIN_DIR = env.str("PG_BIN_DIR", default="")


# Operations: the schedules' time zone, /health/'s token and limits, where alerts go.
OPS_TIMEZONE = env.str("OPS_TIMEZONE", default="UTC")
HEALTH_TOKEN = env.str("HEALTH_TOKEN", default="")
HEALTH_WORKER_TIMEOUT_SECONDS = whole_number("HEALTH_WORKER_TIMEOUT_SECONDS", default=10, minimum=1)
HEALTH_MIN_FREE_DISK_PERCENT = whole_number("HEALTH_MIN_FREE_DISK_PERCENT", default=10, minimum=0)
BACKUP_MAX_AGE_HOURS = whole_number("BACKUP_MAX_AGE_HOURS", default=26, minimum=1)
SLACK_WEBHOOK = env.str("SLACK_WEBHOOK", default="")
ALERT_EMAIL = env.list("ALERT_EMAIL", default=[])
ALERT_REPEAT_HOURS = whole_number("ALERT_REPEAT_HOURS", default=24, minimum=1)
if ALERT_EMAIL and not EMAIL_URL:
    raise environ.ImproperlyConfigured(
        "ALERT_EMAIL is set but EMAIL_URL is not: set EMAIL_URL to the SMTP server that sends alerts, "
        "e.g. smtp+tls://user:password@smtp.example.com:587."
    )


def email_config() -> dict:
    """EMAIL_URL as Django's EMAIL_* settings; without it mail goes nowhere (dummy backend)."""
    if not EMAIL_URL:
        return {"EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}
    return env.email_url_config(EMAIL_URL)


def ops_timezone() -> str:
    """OPS_TIMEZONE, refused at start when it names no time zone."""
    try:
        zoneinfo.ZoneInfo(OPS_TIMEZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise environ.ImproperlyConfigured(
            f"OPS_TIMEZONE={OPS_TIMEZONE!r} is not a time zone; use a name like UTC or Europe/Paris."
        ) from None
    return OPS_TIMEZONE


def database_config() -> dict:
    """DATABASE_URL as Django settings, on the django-tenants backend."""
    config = env.db_url_config(DATABASE_URL, engine="tenants.postgresql_backend")
    config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    return config
