"""django-import-export resources for the tenant admin.

Why imports skip import-export's row-by-row saving: Pulse has one write path for files
(ingest.services: receive, validate, stage, merge, refresh health). A resource writes the parsed
dataset back out as a CSV with the pipeline's columns, hands it to upload_receive/upload_process
with via=admin, and reports the Upload's counts and rejected rows in import-export's Result. The
preview is a dry-run upload; confirming finds that upload by the rows' SHA-256 and loads it, so
one import is one document against the plan.

Why exports escape here: text cells a spreadsheet would run as a formula (= + - @ tab CR) get a
leading apostrophe, as in the portal's CSV exports. import-export 4.x's own
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT only strips a leading "=", which loses data and misses the rest.
"""

import csv
import hashlib
import re
import tempfile
from itertools import groupby
from operator import attrgetter

from django.core.exceptions import ValidationError
from django.db import connection
from import_export import fields, resources, widgets
from import_export.results import Error, Result, RowResult

from common.exports import csv_safe
from ingest.models import SalesRecord, Upload
from ingest.parsers import FileRefused, _cell_text, normalize_header
from ingest.services import UploadRequest, upload_confirm, upload_process, upload_receive
from kpis.models import Account, KpiDefinition, KpiValue, RenewalOutcome
from tenants.models import Tenant
from users.models import User

MAX_ROWS_SHOWN = 200  # rejected rows listed in the preview; the Upload keeps them all
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class MessageOnlyError(Error):
    """import-export writes an error's traceback into the import page; ours are sentences for the
    user, so the page shows the sentence only."""

    traceback = ""


class UploadResult(Result):
    """import-export's Result plus the Upload it reports on, for the admin's messages."""

    upload: Upload | None = None


class PipelineResource(resources.ModelResource):
    """Imports through the upload pipeline as `kind`; exports with formula-safe text cells."""

    kind = ""

    def get_result_class(self):
        return UploadResult

    def get_error_result_class(self):
        return MessageOnlyError

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        if isinstance(value, str) and not isinstance(field.widget, widgets.NumberWidget):
            return csv_safe(value)  # numbers stay numbers: a KPI value may well be negative
        return value

    def import_data(
        self,
        dataset,
        dry_run=False,
        raise_errors=False,
        use_transactions=None,
        collect_failed_rows=False,
        **kwargs,
    ):
        """Receive and process the dataset as one upload. The pipeline runs its own transactions
        and keeps every rejected row in UploadError, so use_transactions, collect_failed_rows and
        raise_errors do not apply: problems are reported in the Result, never raised."""
        result = UploadResult()
        result.diff_headers = self.get_diff_headers()
        result.total_rows = len(dataset)
        try:
            upload, starts = self._load(dataset, dry_run, kwargs.get("user"), kwargs.get("file_name"))
        except (FileRefused, ValidationError) as refused:  # a ValidationError: a preview with nothing to load
            result.append_base_error(self.get_error_result_class()(refused))
            return result
        result.upload = upload
        if upload.status == Upload.Status.FAILED:
            result.append_base_error(self.get_error_result_class()(FileRefused(upload.message)))
        else:
            _report_rows(result, upload, dataset, starts)
        return result

    def _load(self, dataset, dry_run: bool, user, file_name: str | None) -> tuple[Upload, dict[int, int]]:
        info_only = {field.column_name for field in self.fields.values() if field.readonly}
        keep = [i for i, name in enumerate(dataset.headers) if normalize_header(str(name)) not in info_only]
        username = user.get_username() if user else ""
        acting_role = user.role if user else User.Role.VIEWER  # nobody named: the least a role can do
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as handle:
            starts = _write_csv(handle, dataset, keep)
            handle.flush()
            previewed = None if dry_run else self._previewed(handle.buffer, username)
            if previewed:
                return upload_confirm(upload=previewed, acting_role=acting_role, run_now=True), starts
            handle.buffer.seek(0)
            upload = upload_receive(
                fileobj=handle.buffer,
                request=UploadRequest(
                    tenant=Tenant.objects.get(schema_name=connection.schema_name),
                    original_name=file_name or f"admin-{self.kind}.csv",
                    kind=self.kind,
                    acting_role=acting_role,
                    uploaded_by=username,
                    via=Upload.Via.ADMIN,
                    dry_run=dry_run,
                ),
            )
        return upload_process(upload_id=upload.pk), starts

    def _previewed(self, buffer, username: str) -> Upload | None:
        """The preview this confirmation follows: the same rows, kind and user, not loaded yet."""
        buffer.seek(0)
        digest = hashlib.file_digest(buffer, "sha256").hexdigest()
        candidates = Upload.objects.filter(
            sha256=digest,
            kind=self.kind,
            via=Upload.Via.ADMIN,
            uploaded_by=username,
            status=Upload.Status.PREVIEWED,
        )
        return candidates.order_by("-pk").first()


def _write_csv(handle, dataset, keep: list[int]) -> dict[int, int]:
    """Write the kept columns; return {file line a row starts on: dataset index}. The pipeline
    reports lines, and a cell with line breaks makes its row span several."""
    writer = csv.writer(handle)
    writer.writerow([dataset.headers[i] for i in keep])
    starts, line = {}, 2
    for index, row in enumerate(dataset):
        cells = [_cell_text(row[i]) for i in keep]
        writer.writerow(cells)
        starts[line] = index
        line += 1 + sum(len(_LINE_BREAK.findall(cell)) for cell in cells)
    return starts


def _report_rows(result: UploadResult, upload: Upload, dataset, starts: dict[int, int]) -> None:
    result.totals.update(
        {
            RowResult.IMPORT_TYPE_NEW: upload.inserted,
            RowResult.IMPORT_TYPE_UPDATE: upload.updated,
            RowResult.IMPORT_TYPE_SKIP: upload.unchanged,
            RowResult.IMPORT_TYPE_INVALID: upload.rejected,
        }
    )
    for line, errors in groupby(upload.errors.all()[:MAX_ROWS_SHOWN], key=attrgetter("line")):
        problems: dict[str, list[str]] = {}
        for error in errors:
            problems.setdefault(error.field, []).append(f"Line {line}: {error.reason}")
        index = starts[line]
        row = dict(zip(dataset.headers, dataset[index], strict=False))
        result.append_invalid_row(index + 1, row, ValidationError(problems))


def _account_field() -> fields.Field:
    """Accounts by external id: what the pipeline matches first when the file comes back."""
    return fields.Field("account", "account", widgets.ForeignKeyWidget(Account, "external_id"))


class AccountResource(PipelineResource):
    kind = Upload.Kind.ACCOUNTS

    class Meta:
        model = Account
        fields = ("external_id", "name", "revenue", "industry", "region", "status", "renewal_date", "owner")


class KpiValueResource(PipelineResource):
    """Current versions only; version and source are exported for information and ignored on import."""

    kind = Upload.Kind.KPIS
    account = _account_field()
    kpi = fields.Field("kpi", "kpi", widgets.ForeignKeyWidget(KpiDefinition, "key"))
    period = fields.Field("period", "period")
    version = fields.Field("version", "version", readonly=True)
    source = fields.Field("source", "source", readonly=True)

    class Meta:
        model = KpiValue
        fields = ("account", "kpi", "period", "value", "version", "source")

    def filter_export(self, queryset, **kwargs):
        return queryset.filter(is_current=True).select_related("account", "kpi")

    def dehydrate_period(self, kpi_value: KpiValue) -> str:
        return f"{kpi_value.period:%Y-%m}"


class SalesRecordResource(PipelineResource):
    kind = Upload.Kind.SALES
    account = _account_field()

    class Meta:
        model = SalesRecord
        fields = (
            "date",
            "user_id",
            "product_name",
            "quantity",
            "unit_price",
            "total_amount",
            "region",
            "account",
        )

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("account")


class RenewalOutcomeResource(PipelineResource):
    """Renewal outcomes by account external id; `source` is exported for information only."""

    kind = Upload.Kind.RENEWALS
    account = _account_field()
    source = fields.Field("source", "source", readonly=True)

    class Meta:
        model = RenewalOutcome
        fields = ("account", "renewal_date", "outcome", "arr_before", "arr_after", "source")

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("account")
