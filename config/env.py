"""Every environment variable Pulse reads, parsed strictly in one place.

A bad value fails at start with ImproperlyConfigured instead of surprising us later
(the habit of healthchecks' settings). The README and .env.example list the same names.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
ONE_YEAR = 365 * 24 * 60 * 60

env = environ.Env()
# A developer may keep settings in .env; real deployments set the environment.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
DATABASE_URL = env.str("DATABASE_URL", default="postgresql://postgres@127.0.0.1:5432/pulse")
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
PULSE_BASE_DOMAIN = env.str("PULSE_BASE_DOMAIN", default="localhost")
PULSE_PORT = env.int("PORT", default=8000)
SEED_DEMO_DATA = env.bool("SEED_DEMO_DATA", default=True)
DEMO_ADMIN_PASSWORD = env.str("DEMO_ADMIN_PASSWORD", default="pulse-demo-2026")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
SUPPORT_EMAIL = env.str("SUPPORT_EMAIL", default="support@pulse.example")
SECURE_COOKIES = env.bool("SECURE_COOKIES", default=False)
INGEST_MAX_UPLOAD_MB = env.int("INGEST_MAX_UPLOAD_MB", default=200)
SALES_API_URL = env.str("SALES_API_URL", default="")
SALES_API_KEY = env.str("SALES_API_KEY", default="")
SYNC_ALLOW_PRIVATE_ADDRESSES = env.bool("SYNC_ALLOW_PRIVATE_ADDRESSES", default=False)
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "staticfiles"))

if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise environ.ImproperlyConfigured(
        f"LOG_LEVEL={LOG_LEVEL!r} is not a log level; use DEBUG, INFO, WARNING, ERROR or CRITICAL."
    )


def seconds(name: str, default: int) -> int:
    """A whole number of seconds, 0 or more."""
    raw = env.str(name, default=str(default)).strip()
    if not raw.isdigit():
        raise environ.ImproperlyConfigured(
            f"{name}={raw!r} is not a number of seconds; use a whole number such as {default}."
        )
    return int(raw)


# Production only: how long browsers keep to HTTPS for our hosts and their subdomains, and
# whether we ask to be preloaded into browsers (see README, Deploying).
SECURE_HSTS_SECONDS = seconds("SECURE_HSTS_SECONDS", ONE_YEAR)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)


def database_config() -> dict:
    """DATABASE_URL as Django settings, on the django-tenants backend."""
    config = env.db_url_config(DATABASE_URL, engine="django_tenants.postgresql_backend")
    config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    return config
