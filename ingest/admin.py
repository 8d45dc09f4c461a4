"""The tenant admin for uploads, sales and syncs, and for what the upload pipeline imports into
kpis' tables: accounts and KPI values (kpis/admin.py has the rest of kpis)."""

from zoneinfo import available_timezones

from django import forms
from django.contrib import admin, messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.shortcuts import redirect
from import_export.admin import ImportExportModelAdmin
from import_export.formats import base_formats
from import_export.forms import ExportForm, ImportForm
from import_export.tmp_storages import CacheStorage
from tablib.exceptions import InvalidDimensions

from common.admin import ReadOnly
from ingest.forms import RefusedUploadMixin
from ingest.models import Alert, SalesRecord, SyncRun, SyncSource, Upload, UploadError
from ingest.parsers import FileRefused, read_csv_text
from ingest.resources import AccountResource, KpiValueResource, RenewalOutcomeResource, SalesRecordResource
from ingest.services import alert_resolve, sync_source_save
from ingest.upload_limits import upload_refusal
from kpis.models import ACCOUNT_FIELDS, Account, KpiValue, RenewalOutcome
from kpis.services import account_upsert
from users.admin_sites import ServiceRefusalsAsMessages, tenant_admin_site

ADMIN_IMPORT_MAX_BYTES = 10 * 1024 * 1024
INLINE_ERRORS = 100


class AdminImportForm(RefusedUploadMixin, ImportForm):
    upload_field = "import_file"

    def clean_import_file(self):
        """import-export holds the whole file in memory (and in the cache until confirmed), and
        tablib reads UTF-8 only and names no line when it fails: the file is checked the way the
        pipeline reads files, and handed on as UTF-8."""
        file = self.cleaned_data["import_file"]
        if file.size > ADMIN_IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The admin imports files up to {ADMIN_IMPORT_MAX_BYTES // 2**20} MB; upload bigger "
                "files on the Data Integration page, which streams them."
            )
        try:
            text = read_csv_text(file.read(), file.name)
        except FileRefused as refused:
            raise forms.ValidationError(str(refused)) from refused
        return SimpleUploadedFile(file.name, text.encode("utf-8"), content_type="text/csv")


class PreviewGone(Exception):
    """The file of a previewed import is no longer kept: confirmed already, or expired."""


class PreviewCacheStorage(CacheStorage):
    def read(self):
        data = super().read()
        if data is None:
            raise PreviewGone
        return data


class PipelineImportExportAdmin(ImportExportModelAdmin):
    """Imports go through the upload pipeline (see ingest.resources). Unlike stock import-export,
    the preview offers to confirm when rows were rejected: confirming loads the good rows and
    leaves the rejected ones out, as the portal's preview does."""

    import_formats = [base_formats.CSV]  # XLSX would be parsed here, before the pipeline's safety checks
    export_formats = [base_formats.CSV, base_formats.XLSX]
    import_form_class = AdminImportForm
    export_form_class = ExportForm  # the exported columns are the import columns: no picking
    tmp_storage_class = PreviewCacheStorage
    import_error_display = ("message",)  # sentences for the user, never tracebacks

    def get_import_form_kwargs(self, request):
        return {**super().get_import_form_kwargs(request), "refused": upload_refusal(request)}

    def import_action(self, request, **kwargs):
        response = super().import_action(request, **kwargs)
        context = response.context_data
        result = context.get("result")
        if result is not None and not result.has_errors():
            context.setdefault("confirm_form", self.create_confirm_form(request, import_form=context["form"]))
            _report(request, result.upload)
        return response

    def process_import(self, request, **kwargs):
        try:
            return super().process_import(request, **kwargs)
        except PreviewGone:
            messages.error(
                request,
                "This preview is no longer available: it was confirmed already, or it expired after a day. "
                "Check the list for the rows; import the file again if they are not there.",
            )
            return redirect(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_import")

    def add_data_read_fail_error_to_form(self, form, e):
        """What tablib could not read, in a sentence (import-export names only the exception class)."""
        if isinstance(e, InvalidDimensions):
            message = (
                "A row has more cells than the header has columns. Give each extra column a header, or "
                "delete the extra cells, then import the file again."
            )
        else:
            message = (
                f"The file could not be read as CSV ({str(e) or type(e).__name__}). "
                "Save it as CSV (UTF-8) and import it again."
            )
        form.add_error("import_file", message)

    def add_success_message(self, result, request):
        """After confirming: the Upload's own counts, or why the file was refused this time."""
        if result.has_errors():
            for error in result.base_errors:
                messages.error(request, str(error.error))
        else:
            _report(request, result.upload)


def _report(request, upload: Upload) -> None:
    counts = f"{upload.inserted} new, {upload.updated} updated, {upload.unchanged} unchanged, "
    counts += f"{upload.rejected} rejected"
    notes = " ".join(upload.summary.get("notes", []))
    if upload.dry_run:
        advice = " Confirm to load the good rows; rejected rows are left out." if upload.rejected else ""
        text = f"Preview, nothing written yet: {counts}.{advice} {notes}"
    else:
        text = f"Loaded: {counts}. {notes}"
    messages.add_message(request, messages.WARNING if upload.rejected else messages.INFO, text.strip())


@admin.register(Account, site=tenant_admin_site)
class AccountAdmin(ServiceRefusalsAsMessages, PipelineImportExportAdmin):
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


@admin.register(SalesRecord, site=tenant_admin_site)
class SalesRecordAdmin(ReadOnly, PipelineImportExportAdmin):
    resource_classes = [SalesRecordResource]
    list_display = ("date", "account", "product_name", "quantity", "unit_price", "total_amount", "region")
    list_filter = ("region", "date")
    list_select_related = ("account",)
    search_fields = ("product_name", "user_id", "account__name", "account__external_id")


class UploadErrorInline(ReadOnly, admin.TabularInline):
    model = UploadError
    fields = ("line", "field", "value", "reason")


@admin.register(Upload, site=tenant_admin_site)
class UploadAdmin(ReadOnly, admin.ModelAdmin):
    list_display = (
        "original_name",
        "kind",
        "version",
        "via",
        "status",
        "inserted",
        "updated",
        "rejected",
        "uploaded_by",
        "created_at",
    )
    list_filter = ("kind", "status", "via", "dry_run")
    search_fields = ("original_name", "sha256", "uploaded_by")
    fields = (
        "public_id",
        "original_name",
        "kind",
        "version",
        "via",
        "uploaded_by",
        "dry_run",
        "status",
        "message",
        "sha256",
        "size",
        "rows_total",
        "rows_read",
        "inserted",
        "updated",
        "unchanged",
        "rejected",
        "created_at",
        "started_at",
        "finished_at",
    )
    inlines = [UploadErrorInline]

    def get_formset_kwargs(self, request, obj, inline, prefix):
        """The first errors only: a file can have 50,000, and the portal has the full report."""
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        kwargs["queryset"] = kwargs["queryset"].filter(pk__in=obj.errors.values("pk")[:INLINE_ERRORS])
        return kwargs


class SyncSourceForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted and never shown again. Leave empty to keep the current key.",
    )
    clear_api_key = forms.BooleanField(required=False, label="Remove the stored API key")
    hour = forms.IntegerField(min_value=0, max_value=23, initial=2, help_text="Local hour of the daily run.")
    timezone = forms.ChoiceField(
        choices=[(zone, zone) for zone in sorted(available_timezones())], initial="UTC"
    )

    class Meta:
        model = SyncSource
        fields = ("name", "url", "hour", "timezone", "enabled", "expect_rows", "cursor")


@admin.register(SyncSource, site=tenant_admin_site)
class SyncSourceAdmin(ServiceRefusalsAsMessages, admin.ModelAdmin):
    """The API key is write-only: the form never renders it, nor its encrypted form."""

    form = SyncSourceForm
    fields = (
        "name",
        "url",
        "api_key",
        "clear_api_key",
        "hour",
        "timezone",
        "enabled",
        "expect_rows",
        "cursor",
        "last_run_at",
    )
    readonly_fields = ("last_run_at",)
    list_display = ("name", "url", "enabled", "hour", "timezone", "has_api_key", "cursor", "last_run_at")

    @admin.display(boolean=True, description="API key")
    def has_api_key(self, source: SyncSource) -> bool:
        return bool(source.api_key_encrypted)

    def save_model(self, request, obj, form, change):
        key, clear = form.cleaned_data["api_key"], form.cleaned_data["clear_api_key"]
        sync_source_save(source=obj, api_key="" if clear else (key or None))


@admin.register(SyncRun, site=tenant_admin_site)
class SyncRunAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("source", "status", "started_at", "finished_at", "rows_received", "pages", "upload")
    list_filter = ("status", "source")


@admin.register(Alert, site=tenant_admin_site)
class AlertAdmin(ServiceRefusalsAsMessages, admin.ModelAdmin):
    """Operators mark alerts resolved; what happened stays as it was recorded."""

    list_display = ("kind", "message", "created_at", "resolved_at")
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter))
    readonly_fields = ("kind", "message", "sync_run", "created_at")

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        alert_resolve(alert=obj, resolved_at=obj.resolved_at)


@admin.register(RenewalOutcome, site=tenant_admin_site)
class RenewalOutcomeAdmin(ReadOnly, PipelineImportExportAdmin):
    """Renewal outcomes are data like KPI values: imported through the pipeline, never edited here."""

    resource_classes = [RenewalOutcomeResource]
    list_display = ("account", "renewal_date", "outcome", "arr_before", "arr_after", "source")
    list_filter = ("outcome", "renewal_date")
    list_select_related = ("account",)
    search_fields = ("account__name", "account__external_id")
