"""The tenant admin for KPI definitions and health. Writes go through kpis.services; what health
runs compute is read-only here. Accounts and KPI values are imported through the upload
pipeline, so their admin lives with it in ingest/admin.py (ingest sits above kpis)."""

from django.contrib import admin

from common.admin import ReadOnly
from kpis.models import HealthModel, HealthSnapshot, Insight, KpiDefinition, LearnedModel, ReportCard
from kpis.services import kpi_definition_update
from users.admin_sites import tenant_admin_site
from users.audit import user_actor


@admin.register(KpiDefinition, site=tenant_admin_site)
class KpiDefinitionAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "category", "direction", "impact", "weight", "active")
    list_filter = ("category", "impact", "active")
    search_fields = ("key", "name")

    def save_model(self, request, obj, form, change):
        """A KPI change rescores history, so it starts a new health model version like the portal's."""
        kpi_definition_update(kpi=obj, created_by=request.user.get_username(), actor=user_actor(request.user))

    def has_delete_permission(self, request, obj=None):
        return False  # values protect their KPI; untick `active` instead


@admin.register(HealthModel, site=tenant_admin_site)
class HealthModelAdmin(ReadOnly, admin.ModelAdmin):
    """Versions are made by the health settings page."""

    list_display = (
        "version",
        "healthy_min",
        "critical_below",
        "missing_data_rule",
        "upload_mode",
        "created_by",
        "created_at",
    )


@admin.register(HealthSnapshot, site=tenant_admin_site)
class HealthSnapshotAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("account", "period", "model_version", "score", "band", "coverage")
    list_filter = ("band", "model_version", "period")
    list_select_related = ("account",)
    search_fields = ("account__name",)


@admin.register(Insight, site=tenant_admin_site)
class InsightAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("title", "account", "rule", "severity", "period")
    list_filter = ("rule", "severity", "period")
    list_select_related = ("account",)
    search_fields = ("title", "account__name")


@admin.register(ReportCard, site=tenant_admin_site)
class ReportCardAdmin(ReadOnly, admin.ModelAdmin):
    """Computed after every health model version change; shown on Settings → Health."""

    list_display = ("model_version", "method", "computed_at")


@admin.register(LearnedModel, site=tenant_admin_site)
class LearnedModelAdmin(ReadOnly, admin.ModelAdmin):
    """Trained from Settings → Health or the API; switched on there when proven better."""

    list_display = ("created_at", "status", "proven", "requested_by", "compared_with_version")
    list_filter = ("status", "proven")
