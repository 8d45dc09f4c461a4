"""The tenant admin for accounts, KPIs and health. Writes go through kpis.services or the upload
pipeline; what health runs compute is read-only here."""

from django.contrib import admin

from config.admin_sites import tenant_admin_site
from ingest.admin import PipelineImportExportAdmin, ReadOnly
from ingest.resources import AccountResource, KpiValueResource, RenewalOutcomeResource
from kpis.models import (
    Account,
    HealthModel,
    HealthSnapshot,
    Insight,
    KpiDefinition,
    KpiValue,
    LearnedModel,
    RenewalOutcome,
    ReportCard,
)
from kpis.services import account_upsert, kpi_definition_update

ACCOUNT_FIELDS = ("name", "revenue", "industry", "region", "status", "renewal_date", "owner")


@admin.register(Account, site=tenant_admin_site)
class AccountAdmin(PipelineImportExportAdmin):
    resource_classes = [AccountResource]
    fields = ("external_id", *ACCOUNT_FIELDS)
    list_display = ("name", "external_id", "revenue", "industry", "region", "status", "renewal_date", "owner")
    list_filter = ("status", "industry", "region")
    search_fields = ("name", "external_id", "owner")

    def get_readonly_fields(self, request, obj=None):
        """Saving goes by external id, so changing it would make a second account."""
        return ("external_id",) if obj else ()

    def save_model(self, request, obj, form, change):
        obj.pk = account_upsert(
            external_id=obj.external_id, **{name: getattr(obj, name) for name in ACCOUNT_FIELDS}
        ).pk


@admin.register(KpiValue, site=tenant_admin_site)
class KpiValueAdmin(ReadOnly, PipelineImportExportAdmin):
    """Values are versioned by uploads; import here, never edit a version in place."""

    resource_classes = [KpiValueResource]
    list_display = ("account", "kpi", "period", "value", "version", "is_current", "source")
    list_filter = ("kpi", "period", "is_current")
    list_select_related = ("account", "kpi")
    search_fields = ("account__name", "account__external_id", "kpi__key")


@admin.register(RenewalOutcome, site=tenant_admin_site)
class RenewalOutcomeAdmin(ReadOnly, PipelineImportExportAdmin):
    """Renewal outcomes are data like KPI values: imported through the pipeline, never edited here."""

    resource_classes = [RenewalOutcomeResource]
    list_display = ("account", "renewal_date", "outcome", "arr_before", "arr_after", "source")
    list_filter = ("outcome", "renewal_date")
    list_select_related = ("account",)
    search_fields = ("account__name", "account__external_id")


@admin.register(KpiDefinition, site=tenant_admin_site)
class KpiDefinitionAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "category", "direction", "impact", "weight", "active")
    list_filter = ("category", "impact", "active")
    search_fields = ("key", "name")

    def save_model(self, request, obj, form, change):
        """A KPI change rescores history, so it starts a new health model version like the portal's."""
        kpi_definition_update(kpi=obj, created_by=request.user.get_username())

    def has_delete_permission(self, request, obj=None):
        return False  # values protect their KPI; untick `active` instead


@admin.register(HealthModel, site=tenant_admin_site)
class HealthModelAdmin(ReadOnly, admin.ModelAdmin):
    """Versions are made by the health settings page."""

    list_display = ("version", "healthy_min", "critical_below", "missing_data_rule", "upload_mode",
                    "created_by", "created_at")  # fmt: skip


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
