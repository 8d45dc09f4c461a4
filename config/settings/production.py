"""Production: no debug, no demo data unless asked, secure cookies and static manifest."""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SEED_DEMO_DATA", "false")

from config.settings.base import *  # noqa: E402,F403

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
STORAGES["staticfiles"]["BACKEND"] = "whitenoise.storage.CompressedManifestStaticFilesStorage"  # noqa: F405
