"""Who the tenants are: companies, their hosts and plans. Public schema only."""

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


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
    created_at = models.DateTimeField(auto_now_add=True)
    last_active = models.DateTimeField(null=True, blank=True)

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
