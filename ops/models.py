"""What operations record in the public schema (they serve all tenants).

An incident is one thing that is wrong, named by a key ("backup", "health:worker",
"sync_failed:acme:source-3"). While it stays open, raising the same key again tells nobody:
people hear of it once, then a reminder every ALERT_REPEAT_HOURS, then once more when resolved.

Every backup taken and every restore drill run is recorded, so that /health/, alerts and the
staff operations page can tell how recent and how good they are.
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


class Backup(models.Model):
    """One `pulse-<timestamp>.dump` (whole database) or `pulse-<slug>-<timestamp>.dump` (one tenant)
    with its `.sha256` and `.json` manifest beside it in BACKUP_DIR."""

    class Status(models.TextChoices):
        OK = "ok", "complete"
        FAILED = "failed", "failed"

    class Offsite(models.TextChoices):
        NOT_CONFIGURED = "off", "no bucket configured"
        UPLOADED = "uploaded", "uploaded and verified"
        FAILED = "failed", "upload failed"

    tenant_slug = models.CharField(max_length=63, blank=True, help_text="Empty for a whole-database backup.")
    file_name = models.CharField(max_length=200, help_text="The dump's name in BACKUP_DIR.")
    status = models.CharField(max_length=8, choices=Status.choices)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField()
    duration_seconds = models.FloatField(default=0)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    tables = models.PositiveIntegerField(default=0)
    rows = models.BigIntegerField(default=0)
    offsite = models.CharField(max_length=8, choices=Offsite.choices, default=Offsite.NOT_CONFIGURED)
    offsite_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["status", "-started_at"], name="backup_status_newest")]

    def __str__(self) -> str:
        return self.file_name


class RestoreDrill(models.Model):
    """One restore of the newest backup into a scratch database, compared with its manifest."""

    backup = models.ForeignKey(
        Backup, on_delete=models.SET_NULL, null=True, blank=True, related_name="drills"
    )
    backup_file_name = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField()
    duration_seconds = models.FloatField(default=0)
    identical = models.BooleanField(default=False)
    tables = models.PositiveIntegerField(default=0)
    rows = models.BigIntegerField(default=0)
    differences = models.JSONField(
        default=list, help_text="Tables whose row count differs: table, expected, found."
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"drill {self.started_at:%Y-%m-%d %H:%M} {'identical' if self.identical else 'FAILED'}"
