"""The Celery app. tenant-schemas-celery makes a task run in the schema of the tenant that
queued it: `.delay()` inside a tenant's request or `tenant_context` carries the schema."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = CeleryApp("pulse")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
