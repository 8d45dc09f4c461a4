"""Uploads and what they load. Tenant schemas only."""

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models

from users.models import User


class Upload(models.Model):
    """One received file and everything that happened to it."""

    class Kind(models.TextChoices):
        KPIS = "kpis", "KPI values"
        ACCOUNTS = "accounts", "Accounts"
        SALES = "sales", "Sales records"
        USERS = "users", "Users"
        RENEWALS = "renewals", "Renewal outcomes"
        DOCUMENTS = "documents", "Knowledge-base documents"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        LOADING = "loading", "Loading"
        PREVIEWED = "previewed", "Previewed (nothing written)"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    class Via(models.TextChoices):
        PORTAL = "portal", "Portal"
        API = "api", "API"
        COMMAND = "command", "Command"
        ADMIN = "admin", "Admin"
        SYNC = "sync", "Scheduled sync"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    original_name = models.CharField(max_length=255)
    stored_path = models.CharField(
        max_length=300, help_text="Relative to MEDIA_ROOT, under the tenant's folder."
    )
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    version = models.PositiveIntegerField(default=1, help_text="Nth upload of this file name and kind.")
    uploaded_by = models.CharField(max_length=150, blank=True)
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.PORTAL)
    acting_role = models.CharField(
        max_length=10,
        choices=User.Role.choices,
        help_text=(
            "Role of whoever sent the file (an API key's scope as a role; commands act as admin). "
            "A users file needs admin, and none of its rows may give a role above this one."
        ),
    )
    dry_run = models.BooleanField(default=False)
    account_from_file = models.CharField(max_length=200, blank=True, help_text="account_rollup mode.")
    create_missing_accounts = models.BooleanField(
        default=False,
        help_text="Rows naming an account that does not exist create it; otherwise such rows are rejected.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_read = models.PositiveIntegerField(default=0)
    inserted = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, help_text="File-level result or error, for people.")
    summary = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} v{self.version} ({self.get_kind_display()})"

    @property
    def valid_rows(self) -> int:
        """Rows a preview found fit to load: what Confirm would load."""
        return max(self.rows_read - self.rejected, 0)

    @property
    def is_final(self) -> bool:
        return self.status in {self.Status.PREVIEWED, self.Status.COMPLETED, self.Status.FAILED}


class UploadFollowUp(models.Model):
    """Work an upload's load still owes: health, insights, projections and trigger evaluation of
    the accounts it touched. Written in the load's own transaction and deleted once that work is
    done, so a worker that dies in between leaves it to the next delivery or the stalled-work
    sweep instead of losing it."""

    upload = models.OneToOneField(Upload, on_delete=models.CASCADE, primary_key=True, related_name="followup")
    # One array, not a row per account: a million-row load touching 10,000 accounts owes one
    # 80 KB row, written and deleted once.
    account_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"follow-up of upload {self.upload_id} ({len(self.account_ids)} accounts)"


class UploadError(models.Model):
    """One rejected row (or field of a row): where, what and why."""

    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="errors")
    line = models.PositiveIntegerField()
    field = models.CharField(max_length=60)
    value = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["line", "pk"]

    def __str__(self) -> str:
        return f"line {self.line} {self.field}: {self.reason}"


class SalesRecord(models.Model):
    """A sale in the predecessor sales API format; monthly totals feed Financial KPIs."""

    # The natural key's unique index starts with account_id and serves every lookup by account,
    # so the FK's own index would only cost writes.
    account = models.ForeignKey(
        "kpis.Account", on_delete=models.CASCADE, related_name="sales", db_index=False
    )
    date = models.DateField()
    user_id = models.CharField(max_length=64)
    product_name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=14, decimal_places=2)
    total_amount = models.DecimalField(max_digits=14, decimal_places=2)
    region = models.CharField(max_length=80, blank=True)
    # Which upload last wrote the row: provenance only, nothing joins on it. Without a database
    # constraint and index, a million-row load skips a million foreign-key checks at commit
    # (~2.5 s) and an index; deleting an upload still clears it here (Django's SET_NULL).
    upload = models.ForeignKey(
        Upload,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "date", "user_id", "product_name"], name="salesrecord_natural_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.product_name} × {self.quantity}"


class SyncSource(models.Model):
    """A tenant's external sales API, pulled incrementally on a schedule."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    api_key_encrypted = models.TextField(blank=True, help_text="Fernet token; the key itself is never shown.")
    hour = models.PositiveSmallIntegerField(default=2, help_text="Local hour of the daily run (0–23).")
    timezone = models.CharField(max_length=64, default="UTC")
    enabled = models.BooleanField(default=True)
    expect_rows = models.BooleanField(default=True, help_text="Alert when a run returns no rows.")
    cursor = models.CharField(
        max_length=64, blank=True, help_text="Last successfully loaded date (YYYY-MM-DD)."
    )
    last_run_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class SyncRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "OK"
        EMPTY = "empty", "No rows"
        FAILED = "failed", "Failed"

    source = models.ForeignKey(SyncSource, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    cursor_from = models.CharField(max_length=64, blank=True)
    cursor_to = models.CharField(max_length=64, blank=True)
    pages = models.PositiveIntegerField(default=0)
    rows_received = models.PositiveIntegerField(default=0)
    upload = models.ForeignKey(Upload, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.source} {self.started_at:%Y-%m-%d %H:%M} {self.status}"


class Alert(models.Model):
    """Something an operator must look at (delivery by Slack/e-mail comes later)."""

    class Kind(models.TextChoices):
        SYNC_FAILED = "sync_failed", "Sync failed"
        SYNC_EMPTY = "sync_empty", "Sync returned no rows"
        TRIGGER_BROKEN = "trigger_broken", "Playbook trigger skipped"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.TextField()
    sync_run = models.ForeignKey(
        SyncRun, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message[:60]}"
