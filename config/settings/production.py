"""Production: no debug, no demo data unless asked; HTTPS only, secure cookies and HSTS
without opting in; static files from the manifest that the release step's collectstatic writes.

Pulse runs behind a proxy or load balancer that terminates TLS and sets X-Forwarded-Proto
(README, Deploying).
"""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SEED_DEMO_DATA", "false")

from django.core.exceptions import ImproperlyConfigured

from config import env
from config.settings.base import *  # noqa: F403

DEMO_PEER_TENANTS = False  # even when SEED_DEMO_DATA asks for the demo tenant

# The proxy talks plain HTTP to gunicorn and says in this header what the client used. It must
# set the header itself and drop any the client sent, or a client could claim HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
# Load balancers probe liveness over plain HTTP; a redirect would count as a failed probe.
SECURE_REDIRECT_EXEMPT = [r"^api/ping/$", r"^health/$"]

SECURE_HSTS_SECONDS = env.SECURE_HSTS_SECONDS
# Tenants are subdomains of the base domain: all of them are HTTPS-only too.
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.SECURE_HSTS_PRELOAD
if SECURE_HSTS_PRELOAD and SECURE_HSTS_SECONDS < env.ONE_YEAR:
    # Browsers' preload lists only take domains whose HSTS lasts a year or more.
    raise ImproperlyConfigured(
        f"SECURE_HSTS_PRELOAD is on but SECURE_HSTS_SECONDS={SECURE_HSTS_SECONDS} is under a year; "
        f"set SECURE_HSTS_SECONDS to {env.ONE_YEAR} or more, or SECURE_HSTS_PRELOAD=false."
    )

# Cookies travel over HTTPS only, always (SECURE_COOKIES is for the other settings modules).
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

STORAGES["staticfiles"]["BACKEND"] = "whitenoise.storage.CompressedManifestStaticFilesStorage"  # noqa: F405
