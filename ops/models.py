"""What operations record in the public schema: every backup taken and every restore drill run,
so that /health/, alerts and the staff operations page can tell how recent and how good they are."""

from django.db import models


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
