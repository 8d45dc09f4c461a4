"""Tests: the same real PostgreSQL and Redis, but their own queue and cache prefix so a
running development worker never takes a test's task."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("SEED_DEMO_DATA", "false")

from config.settings.base import *  # noqa: F403

CELERY_TASK_DEFAULT_QUEUE = "pulse-test"
INGEST_QUEUE = "pulse-test-ingest"
CELERY_TASK_ROUTES = {task: {"queue": INGEST_QUEUE} for task in CELERY_TASK_ROUTES}  # noqa: F405
SYNC_ALLOW_PRIVATE_ADDRESSES = True  # the sync tests' sales API listens on 127.0.0.1
CACHES["default"]["KEY_PREFIX"] = "pulse-test"  # noqa: F405
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# The browser tests' gunicorn serves the static files straight from the apps and static/,
# without a collectstatic run.
WHITENOISE_USE_FINDERS = True
