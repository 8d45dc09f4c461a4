"""Incidents and the alert messages sent about them (public schema: they serve all tenants).

An incident is one thing that is wrong, named by a key ("backup", "health:worker",
"sync_failed:acme:source-3"). While it stays open, raising the same key again tells nobody:
people hear of it once, then a reminder every ALERT_REPEAT_HOURS, then once more when resolved.
"""

from django.db import models


class Incident(models.Model):
    class Kind(models.TextChoices):
        BACKUP_FAILED = "backup_failed", "Backup failed"
        DRILL_FAILED = "drill_failed", "Restore drill failed"
        SYNC_FAILED = "sync_failed", "Sales sync failed"
        SYNC_EMPTY = "sync_empty", "Sales sync returned no rows"
        HEALTH_FAILING = "health_failing", "Health check failing"
        UPLOADS_STALLED = "uploads_stalled", "Uploads stalled"
        TEST = "test", "Test alert"

    key = models.CharField(max_length=200, help_text="What is wrong; one open incident per key.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    message = models.TextField()
    opened_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When people were last told (first alert or reminder)."
    )
    reminders = models.PositiveIntegerField(default=0)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(resolved_at__isnull=True),
                name="ops_one_open_incident_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class Delivery(models.Model):
    """One message of an incident to one channel; the task that sends it retries until sent."""

    class Event(models.TextChoices):
        OPENED = "opened", "Opened"
        REMINDER = "reminder", "Reminder"
        RESOLVED = "resolved", "Resolved"

    class Channel(models.TextChoices):
        SLACK = "slack", "Slack"
        EMAIL = "email", "E-mail"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (retries used up)"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=10, choices=Event.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.incident} · {self.event} · {self.channel} · {self.status}"
