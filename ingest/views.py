"""The portal's Data Integration tab: upload, preview, confirm, progress, history."""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ingest.exports import errors_csv_response
from ingest.formats import COLUMNS, CatalogKpi, template_rows
from ingest.forms import UploadForm
from ingest.models import Upload
from ingest.parsers import FileRefused
from ingest.services import (
    NOTHING_TO_CONFIRM,
    ImportNotAllowed,
    UploadRequest,
    upload_confirm,
    upload_enqueue,
    upload_progress,
    upload_receive,
)
from ingest.upload_limits import upload_refusal
from kpis.selectors import health_model_current, kpi_catalog
from users.decorators import editor_required


@editor_required
@require_http_methods(["GET", "POST"])
def data_integration(request):
    form = UploadForm(request.POST or None, request.FILES or None, refused=upload_refusal(request))
    if request.method == "POST" and form.is_valid():
        try:
            upload = _receive(request, form.cleaned_data)
        except (FileRefused, ValidationError) as refused:
            form.add_error("file", refused.messages if isinstance(refused, ValidationError) else str(refused))
        except ImportNotAllowed as refused:
            form.add_error("kind", str(refused))
        else:
            return redirect("upload_detail", public_id=upload.public_id)
    uploads = Upload.objects.all()[:50]
    mode = health_model_current().get_upload_mode_display()
    context = {"form": form, "uploads": uploads, "mode": mode, "formats": _formats(), "kpis": kpi_catalog()}
    return render(request, "ingest/data_integration.html", context)


def _formats() -> list[dict]:
    """Each kind's template link and column legend, in the order of the upload form's choices."""
    return [
        {"kind": kind, "label": label, "columns": COLUMNS[kind].items()}
        for kind, label in Upload.Kind.choices
        if kind in COLUMNS
    ]


def _receive(request, data: dict) -> Upload:
    upload = upload_receive(
        fileobj=data["file"],
        request=UploadRequest(
            tenant=request.tenant,
            original_name=data["file"].name,
            kind=data["kind"],
            acting_role=request.user.role,
            uploaded_by=request.user.username,
            via=Upload.Via.PORTAL,
            dry_run=data["preview"],
            account_from_file=data["account"],
            create_missing_accounts=data["create_missing_accounts"],
        ),
    )
    upload_enqueue(upload)
    return upload


def _upload(public_id) -> Upload:
    return get_object_or_404(Upload, public_id=public_id)


@editor_required
def upload_detail(request, public_id):
    return render(request, "ingest/upload_detail.html", _detail_context(_upload(public_id)))


@editor_required
def upload_progress_partial(request, public_id):
    """Polled by htmx every second until the upload is final."""
    return render(request, "ingest/upload_progress.html", _detail_context(_upload(public_id)))


def _detail_context(upload: Upload) -> dict:
    done = upload_progress(upload)
    percent = round(100 * done / upload.rows_total) if upload.rows_total else (100 if upload.is_final else 0)
    return {
        "upload": upload,
        "done": done,
        "percent": min(percent, 100),
        "errors": upload.errors.all()[:20],
        "nothing_to_confirm": NOTHING_TO_CONFIRM,
    }


@editor_required
@require_POST
def upload_confirm_view(request, public_id):
    try:
        upload = upload_confirm(upload=_upload(public_id), acting_role=request.user.role)
    except (ValidationError, ImportNotAllowed) as refused:
        messages.error(
            request, " ".join(refused.messages) if isinstance(refused, ValidationError) else str(refused)
        )
        return redirect("upload_detail", public_id=public_id)
    messages.success(request, upload.message)
    return redirect("upload_detail", public_id=upload.public_id)


@editor_required
def upload_errors(request, public_id):
    return errors_csv_response(_upload(public_id))


def _catalog_kpis() -> list[CatalogKpi]:
    return [CatalogKpi(kpi["key"], kpi["name"], kpi["healthy"]) for kpi in kpi_catalog()]


@editor_required
def template_csv(request, kind: str):
    """The header and two example rows, to replace with real ones."""
    if kind not in COLUMNS:
        raise Http404
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="pulse-{kind}-template.csv"'
    csv.writer(response).writerows(template_rows(kind, _catalog_kpis()))
    return response
