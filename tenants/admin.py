"""The public back office: tenants, hosts and plans, for Pulse staff."""

from django.contrib import admin, messages
from django_tenants.admin import TenantAdminMixin

from tenants.models import Domain, Plan, SchemaHealth, Tenant
from tenants.services import tenant_reactivate, tenant_suspend

admin.site.site_header = "Pulse back office"


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ("name", "schema_name", "plan", "status", "contact_email", "created_at", "last_active")
    list_filter = ("status", "plan")
    search_fields = ("name", "schema_name", "contact_email")
    readonly_fields = ("schema_name", "created_at", "last_active")
    inlines = [DomainInline]
    actions = ["suspend", "reactivate"]

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
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "max_accounts", "max_documents", "max_api_requests_per_month", "max_users")


@admin.register(SchemaHealth)
class SchemaHealthAdmin(admin.ModelAdmin):
    list_display = ("tenant", "ok", "reachable", "checked_at", "detail")
    list_filter = ("ok",)
