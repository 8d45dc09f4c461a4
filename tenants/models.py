"""Who the tenants are: companies, their hosts and plans. Public schema only."""

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from tenants.validators import validate_timezone
from users import roles


class Plan(models.Model):
    """Limits a tenant buys. Staff edit them in the back office."""

    name = models.CharField(max_length=40, unique=True)
    max_accounts = models.PositiveIntegerField()
    max_documents = models.PositiveIntegerField()
    max_api_requests_per_month = models.PositiveIntegerField()
    max_users = models.PositiveIntegerField()

    class Meta:
        ordering = ["max_api_requests_per_month"]

    def __str__(self) -> str:
        return self.name


class Currency(models.TextChoices):
    """The currencies a workspace may show its money in; amounts are never converted."""

    USD = "USD", "US dollar ($)"
    EUR = "EUR", "Euro (€)"
    GBP = "GBP", "Pound sterling (£)"
    CHF = "CHF", "Swiss franc (CHF)"
    CAD = "CAD", "Canadian dollar (CA$)"
    AUD = "AUD", "Australian dollar (A$)"
    JPY = "JPY", "Japanese yen (¥)"
    INR = "INR", "Indian rupee (₹)"
    SEK = "SEK", "Swedish krona (SEK)"


class Tenant(TenantMixin):
    """A customer company, living in its own PostgreSQL schema named after its slug."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=100)
    contact_name = models.CharField(max_length=100, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    suspended_reason = models.CharField(max_length=200, blank=True)
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="IANA zone; monthly usage resets at midnight on the 1st here.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_active = models.DateTimeField(null=True, blank=True)
    currency = models.CharField(
        max_length=3, choices=Currency.choices, default=Currency.USD, help_text="How the portal writes money."
    )
    peer_benchmarks = models.BooleanField(
        "share aggregates for peer benchmarks",
        default=False,
        help_text="Opted in: the nightly task pools this tenant's per-cell aggregates, and it sees peer benchmarks.",
    )
    peer_benchmarks_changed_at = models.DateTimeField(null=True, blank=True)
    slack_webhook_url = models.URLField(
        max_length=300, blank=True, help_text="A Slack incoming webhook told of new critical insights."
    )
    peer_benchmarks_changed_by = models.CharField(max_length=150, blank=True)
    demo_peer = models.BooleanField(
        default=False, editable=False, help_text="A demo peer seeded by bootstrap with SEED_DEMO_DATA."
    )
    # Limits agreed with this customer instead of the plan's (kept from the predecessor SaaS).
    custom_max_documents = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides the plan's document limit when set."
    )
    custom_max_requests_per_month = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides the plan's monthly API request limit when set."
    )
    legacy_client_id = models.CharField(
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text="The client id in the predecessor chatbot SaaS, for tenants migrated from it.",
    )

    # Schemas are made by tenants.services.tenant_provision (cloned from the base schema),
    # never as a side effect of save().
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.schema_name})"

    @property
    def slug(self) -> str:
        return self.schema_name

    @property
    def is_suspended(self) -> bool:
        return self.status == self.Status.SUSPENDED


class Domain(DomainMixin):
    """A host name routed to a tenant, e.g. acme.localhost."""

    def __str__(self) -> str:
        return self.domain


class SchemaHealth(models.Model):
    """The latest result of the periodic check of one tenant schema."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="health")
    checked_at = models.DateTimeField()
    ok = models.BooleanField()
    reachable = models.BooleanField()
    pending_migrations = models.JSONField(default=list)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name_plural = "schema health"

    def __str__(self) -> str:
        return f"{self.tenant.schema_name}: {'ok' if self.ok else 'failing'}"


class ApiKey(models.Model):
    """A named key for the REST API, bound to one tenant. Only a salted hash of the secret
    is stored; the full key is shown once, at creation."""

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"
        ADMIN = "admin", "Admin (also manages API keys)"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(
        max_length=24, unique=True, help_text="Visible part of the key, e.g. pk_live_ab12cd34."
    )
    salt = models.CharField(max_length=32)
    secret_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.WRITE)
    created_by = models.CharField(
        max_length=150, blank=True, help_text="Who made it (tenant user or command)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # A key taken over from the predecessor SaaS has no Pulse prefix: it is found by the
    # SHA-256 of the whole key (unique, so indexed); the plaintext is never stored.
    legacy_digest = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def acting_role(self) -> str:
        """The user role this key acts with where roles matter (importing users): a write key
        changes data as a manager does, and only an admin key acts as an admin."""
        return {self.Scope.ADMIN: roles.ADMIN, self.Scope.WRITE: roles.MANAGER}.get(self.scope, roles.VIEWER)


class UsageMonth(models.Model):
    """One tenant's metered use in one calendar month (in the tenant's timezone).

    `requests` is incremented by a single conditional upsert, so concurrent requests can
    never push it past the plan's limit.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="usage_months")
    month = models.DateField(help_text="First day of the month.")
    requests = models.PositiveIntegerField(default=0)
    documents = models.PositiveIntegerField(default=0)
    last_request_at = models.DateTimeField(null=True, blank=True)
    last_upload_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "month"], name="usage_one_row_per_tenant_month")
        ]
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"{self.tenant.schema_name} {self.month:%Y-%m}"


class LegacyRecord(models.Model):
    """One record of the predecessor SaaS's JSON files that became Pulse data, with the digest of
    the record as migrated: a later run recognises it (nothing to do) or sees it was changed
    since (reported, never overwritten)."""

    class Kind(models.TextChoices):
        CLIENT = "clients", "Client"
        API_KEY = "api_keys", "API key"
        USAGE = "usage", "Usage"
        DOCUMENT = "documents", "Document"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    legacy_id = models.CharField(
        max_length=200, help_text="Its id in the JSON file (client/doc for documents)."
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="legacy_records")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the record as migrated.")
    migrated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "legacy_id"], name="legacy_record_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.legacy_id}"
