"""The audit log's one write: every service that changes settings, users, API keys, the health
model or triggers records what it did here, in the current (tenant) schema.

`users` is the foundation every app may import, so this is where all writers can reach it."""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from users.models import AuditEvent, User

SYSTEM = "system"
# What the log covers; the audit page filters by these.
TARGET_TYPES = ("api key", "user", "health model", "trigger", "workspace settings")


def user_actor(user: User) -> str:
    """How the log names a signed-in person."""
    return f"user:{user.username}"


def api_actor(prefix: str) -> str:
    """How the log names an API key (its public prefix, never the secret)."""
    return f"api:{prefix}"


class AuditDetailEncoder(DjangoJSONEncoder):
    """Dates and Decimals as Django writes them; a row (a trigger's playbook) by its name."""

    def default(self, o):
        if isinstance(o, models.Model):
            return str(o)
        return super().default(o)


def audit_record(
    *, actor: str, action: str, target_type: str, target: str, detail: dict[str, Any] | None = None
) -> AuditEvent:
    """Store one event. Callers pass only what changed, never a secret (a key's hash, a
    password); the target is cut to the column's width rather than refusing the change."""
    return AuditEvent.objects.create(
        actor=actor[:150] or SYSTEM,
        action=action,
        target_type=target_type,
        target=str(target)[:200],
        # Stored as it reads back: what a caller passed turned into plain JSON once, here.
        detail=json.loads(json.dumps(detail or {}, cls=AuditDetailEncoder)),
    )
