"""Development: debug on, a fixed development secret, demo data seeded by default."""

import os

os.environ.setdefault("SECRET_KEY", "dev-only-insecure-key-change-me-in-production-0123456789")
os.environ.setdefault("DEBUG", "true")

from config.settings.base import *  # noqa: F403
