"""The public back office: tenants, hosts and plans, for Pulse staff."""

from django.contrib import admin, messages
from django_tenants.admin import TenantAdminMixin

from tenants.models import ApiKey, Domain, Plan, SchemaHealth, Tenant, UsageMonth
from tenants.services import (
    api_key_revoke,
    plan_save,
    tenant_change_plan,
    tenant_reactivate,
    tenant_save,
    tenant_suspend,
)
from tenants.usage import month_start
from users.admin_sites import ServiceRefusalsAsMessages

admin.site.site_header = "Pulse back office"
# What staff may see of a key: its prefix and dates, never its hash or salt.
API_KEY_FIELDS = (
    "prefix",
    "name",
    "scope",
    "created_by",
    "created_at",
    "expires_at",
    "revoked_at",
    "last_used_at",
)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class ApiKeyInline(admin.TabularInline):
    """Prefixes and dates only: secrets are never stored, hashes never shown."""

    model = ApiKey
    extra = 0
    fields = API_KEY_FIELDS
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Tenant)
class TenantAdmin(ServiceRefusalsAsMessages, TenantAdminMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "schema_name",
        "plan",
        "status",
        "requests_this_month",
        "contact_email",
        "created_at",
        "last_active",
    )
    list_filter = ("status", "plan", "peer_benchmarks", "demo_peer")
    search_fields = ("name", "schema_name", "contact_email")
    # Sharing for peer benchmarks and the Slack webhook are the tenant admin's decisions (Settings
    # → Peer benchmarks, Settings → Slack; the webhook's rule lives in tenant_slack_webhook_set).
    readonly_fields = (
        "slack_webhook_url",
        "schema_name",
        "created_at",
        "last_active",
        "peer_benchmarks",
        "peer_benchmarks_changed_at",
        "peer_benchmarks_changed_by",
        "legacy_client_id",
    )
    inlines = [DomainInline, ApiKeyInline]
    actions = ["suspend", "reactivate"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("plan").prefetch_related("usage_months")

    @admin.display(description="API requests this month")
    def requests_this_month(self, tenant: Tenant) -> int:
        month = month_start(tenant)
        return next((usage.requests for usage in tenant.usage_months.all() if usage.month == month), 0)

    def get_actions(self, request):
        """One "move to plan" action per plan, so staff change plans from the list."""
        actions = super().get_actions(request)
        for plan in Plan.objects.all():
            name = f"change_plan_to_{plan.pk}"
            actions[name] = (self._plan_action(plan), name, f"Change plan to {plan.name}")
        return actions

    @staticmethod
    def _plan_action(plan: Plan):
        def change_plan(modeladmin, request, queryset):
            for tenant in queryset.exclude(schema_name="public"):
                tenant_change_plan(tenant=tenant, plan=plan)
            messages.success(request, f"Moved to the {plan.name} plan.")

        return change_plan

    def save_model(self, request, obj, form, change):
        tenant_save(tenant=obj)

    def has_add_permission(self, request):
        # Tenants are provisioned by registration (schema cloned, admin created), not here.
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting would leave or drop a schema full of customer data; suspend instead.
        return False

    @admin.action(description="Suspend selected tenants (data is kept)")
    def suspend(self, request, queryset):
        for tenant in queryset.exclude(schema_name="public"):
            tenant_suspend(tenant=tenant, reason="Suspended by Pulse staff")
        messages.success(request, "Suspended. Their portals now show the suspended page.")

    @admin.action(description="Reactivate selected tenants")
    def reactivate(self, request, queryset):
        for tenant in queryset:
            tenant_reactivate(tenant=tenant)
        messages.success(request, "Reactivated.")


@admin.register(Plan)
class PlanAdmin(ServiceRefusalsAsMessages, admin.ModelAdmin):
    list_display = ("name", "max_accounts", "max_documents", "max_api_requests_per_month", "max_users")

    def save_model(self, request, obj, form, change):
        plan_save(plan=obj)


@admin.register(SchemaHealth)
class SchemaHealthAdmin(admin.ModelAdmin):
    """What the hourly schema check recorded (schema_health_record): shown, never edited by hand."""

    list_display = ("tenant", "ok", "reachable", "checked_at", "detail")
    list_filter = ("ok",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "prefix",
        "tenant",
        "name",
        "scope",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    )
    list_filter = ("scope", "tenant")
    search_fields = ("prefix", "name", "tenant__schema_name")
    fields = ("tenant", *API_KEY_FIELDS)
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are made where the secret can be shown once: portal, API, command

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            api_key_revoke(key=key, actor=f"staff:{request.user.username}")
        messages.success(request, "Revoked.")


@admin.register(UsageMonth)
class UsageMonthAdmin(admin.ModelAdmin):
    list_display = ("tenant", "month", "requests", "documents", "last_request_at", "last_upload_at")
    list_filter = ("month",)
    readonly_fields = ("tenant", "month", "requests", "documents", "last_request_at", "last_upload_at")
