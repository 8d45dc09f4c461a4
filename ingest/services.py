"""The ingestion pipeline. Every way in — portal, API, admin, commands, syncs — calls
upload_receive() then upload_process() (directly or through the Celery task).

receive: refuse a kind of file the sender's role may not load (users need an admin), store
          the raw file under the tenant's folder, refuse hostile or oversized files whole, record
          an Upload with the sender's role.
process: check the rows (big CSV files in SQL, see fastpath.py; the rest with the row
          validators, streaming in constant memory) into a staging table, reject duplicates
          and merge set-based in one transaction (kpis' tables through kpis.bulk), refusing the
          whole load past the plan's accounts or users, record rejected rows with line and reason
          and the follow-up the load owes; after commit, do that follow-up (health, insights,
          projections, playbook triggers of the touched accounts) and strike it off.
"""

import contextlib
import dataclasses
import datetime as dt
import hashlib
import itertools
import logging
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.dispatch import Signal
from django.utils import timezone

from ingest import documents, fastpath, loaders
from ingest.crypto import encrypt
from ingest.models import Alert, SyncSource, Upload, UploadError, UploadFollowUp
from ingest.parsers import (
    FileRefused,
    Limits,
    check_size,
    check_xlsx_safety,
    count_data_rows,
    csv_dialect,
    read_header_and_rows,
    sniff_format,
)
from ingest.validation import SPECS, Context, KpiBounds, RowError, validate_row
from kpis.knowledge.services import document_outcome, document_upsert
from kpis.models import Account, KpiDefinition
from kpis.services import health_refresh, report_card_refresh_later
from tenants.connection import tenant_connection
from tenants.limits import PlanLimitReached, plan_limit_check
from tenants.models import Tenant
from tenants.selectors import usage_summary
from tenants.services import usage_record_upload
from tenants.usage import document_limit
from users.models import User
from users.services import user_create

logger = logging.getLogger(__name__)

# Sent after an upload's data is committed; playbook triggers and others listen here.
data_loaded = Signal()  # kwargs: upload, account_ids

# Sorting and hashing a million staged rows (duplicates, merges) in memory rather than in
# temporary files; PostgreSQL takes this much per sort or hash only while one runs.
LOAD_WORK_MEM = "64MB"
ROW_BATCH = 5_000  # rows validated in Python between two writes to the staging table
MAX_STORED_ERRORS = 50_000
CHUNK = 1024 * 1024
# How KPI values and renewals name the upload that wrote them (their `source`), read by the timeline.
UPLOAD_SOURCE = "upload:"
UNEXPECTED_FAILURE = (
    "Loading failed unexpectedly; nothing was written. "
    "Retry the upload; if it fails again, contact support with the upload id."
)


NOTHING_TO_CONFIRM = (
    "Every row of this file was rejected, so there is nothing to load; fix the rows the error report "
    "lists and upload the file again."
)
CONFIRMED = "Confirmed: loading the valid rows."


class ImportNotAllowed(PermissionDenied):
    """The sender's role may not load this kind of file; the message names the rule."""


def upload_limits() -> Limits:
    return Limits(max_bytes=settings.INGEST_MAX_UPLOAD_BYTES)


def upload_dir(tenant: Tenant) -> Path:
    """Each tenant's raw files live under their own folder; names on disk are random."""
    return Path(settings.MEDIA_ROOT) / "uploads" / tenant.schema_name


def safe_name(name: str) -> str:
    """The user's file name, for display only: no folders, no control characters."""
    base = os.path.basename(name.replace("\\", "/")) or "upload"
    return re.sub(r"[\x00-\x1f\x7f]", "", base)[:255] or "upload"


@dataclass(frozen=True)
class UploadRequest:
    """Who sends which file to the pipeline, and how; upload_receive takes the bytes beside it.

    `acting_role` is the role of whoever sends it: the portal user's, an API key's scope as a role
    (ApiKey.acting_role), admin for the operator's commands. `account_from_file`: in account_rollup
    mode, the account a KPI file is for. A dry run is a preview: checked, reported, not loaded.
    `create_missing_accounts`: a KPI or renewals row naming an unknown account creates it; by
    default such a row is rejected, so a typo never becomes a phantom account."""

    tenant: Tenant
    original_name: str
    kind: str
    acting_role: str
    uploaded_by: str = ""
    via: str = Upload.Via.PORTAL
    dry_run: bool = False
    account_from_file: str = ""
    create_missing_accounts: bool = False


def upload_receive(*, fileobj, request: UploadRequest) -> Upload:
    """Store the file and record it, or refuse it whole (FileRefused) leaving nothing behind;
    ImportNotAllowed if the sender's role may not load this kind of file."""
    if request.kind not in SPECS:
        raise ValidationError({"kind": f"Unknown kind “{request.kind}”; use one of: {', '.join(SPECS)}."})
    _check_may_import(request.kind, request.acting_role)
    _check_document_quota(request.tenant)
    path, digest, size = _store(request.tenant, fileobj, request.original_name)
    try:
        _check_file(path, request.original_name, request.kind)
        upload = _record(path, digest, size, request)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    usage_record_upload(tenant=request.tenant)
    return upload


def _check_may_import(kind: str, acting_role: str) -> None:
    """A users file may give any role, and nobody may give a role above their own."""
    if kind == Upload.Kind.USERS and acting_role != User.Role.ADMIN:
        raise ImportNotAllowed(
            "Importing users needs the admin role, or an API key with the admin scope: a users file can "
            f"give any role, and nobody can give a role above their own. You are acting as {acting_role}; "
            "ask a workspace admin to import the file."
        )


def _check_document_quota(tenant: Tenant) -> None:
    limit = document_limit(tenant)
    if usage_summary(tenant)["documents"] >= limit:
        raise FileRefused(
            f"Your plan allows {limit} uploads a month and they are used up; the count resets at the start of "
            "next month, or upgrade the plan."
        )


def _store(tenant: Tenant, fileobj, original_name: str) -> tuple[Path, str, int]:
    folder = upload_dir(tenant)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = _stored_suffix(original_name)
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    digest, size, limits = hashlib.sha256(), 0, upload_limits()
    try:
        with open(path, "wb") as out:
            for chunk in iter(lambda: fileobj.read(CHUNK), b""):
                size += len(chunk)
                check_size(size, limits)  # refuse while streaming, before the disk fills
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size


def _stored_suffix(original_name: str) -> str:
    """Rows files are stored as .csv or .xlsx; documents keep their own suffix (.pdf, .zip…)."""
    suffix = documents.suffix_of(original_name)
    return suffix if suffix in (".xlsx", *documents.SUFFIXES) else ".csv"


def _check_file(path: Path, original_name: str, kind: str) -> None:
    with open(path, "rb") as handle:
        head = handle.read(8192)
    if not head:
        raise FileRefused("The file is empty. Export the data again and upload the file that has rows.")
    if kind == Upload.Kind.DOCUMENTS:
        documents.check_document_file(str(path), original_name, upload_limits())
    elif sniff_format(head, original_name) == "xlsx":
        check_xlsx_safety(str(path), upload_limits())


@transaction.atomic
def _record(path: Path, digest: str, size: int, request: UploadRequest) -> Upload:
    fields = {field.name: getattr(request, field.name) for field in dataclasses.fields(request)}
    del fields["tenant"]  # the schema is the tenant
    fields["original_name"] = safe_name(request.original_name)
    previous = Upload.objects.filter(original_name=fields["original_name"], kind=request.kind).count()
    relative = path.relative_to(settings.MEDIA_ROOT)
    return Upload.objects.create(
        stored_path=str(relative), sha256=digest, size=size, version=previous + 1, **fields
    )


def upload_enqueue(upload: Upload) -> None:
    """Queue processing once the Upload row is committed (the worker must see it)."""
    from ingest.tasks import process_upload  # tasks import this module

    transaction.on_commit(lambda: process_upload.delay(upload.pk))


def upload_confirm(*, upload: Upload, acting_role: str, run_now: bool = False) -> Upload:
    """Load for real a file that was previewed (dry run): queued for the worker, or here and
    now for callers that show the result at once (the admin's import). Whoever confirms loads the
    file, so their role (`acting_role`) must allow it as much as the sender's did."""
    _check_may_import(upload.kind, acting_role)
    if upload.status != Upload.Status.PREVIEWED:
        raise ValidationError(
            {"status": "Only a previewed upload can be confirmed; this one is " + upload.get_status_display()}
        )
    if not upload.valid_rows:
        raise ValidationError({"status": NOTHING_TO_CONFIRM})
    Upload.objects.filter(pk=upload.pk).update(dry_run=False, status=Upload.Status.QUEUED, message=CONFIRMED)
    upload.refresh_from_db()
    if run_now:
        return upload_process(upload_id=upload.pk)
    upload_enqueue(upload)
    return upload


# --- processing --------------------------------------------------------------------------------


def progress_key(upload: Upload) -> str:
    return f"upload-progress:{upload.public_id}"  # the cache key function adds the tenant's schema


def upload_progress(upload: Upload) -> int:
    if upload.status == Upload.Status.LOADING:
        return cache.get(progress_key(upload), 0)
    return upload.rows_read


@contextlib.contextmanager
def _exclusive(upload: Upload):
    """A session-level advisory lock per upload: a second delivery of the same task waits
    for nothing and does nothing, and a crashed worker's lock dies with its connection."""
    keys = [_schema_key(), upload.pk]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", keys)
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", keys)


def _schema_key() -> int:
    """A 32-bit number per schema, so upload 5 of one tenant never blocks upload 5 of another."""
    return int.from_bytes(
        hashlib.blake2b(tenant_connection().schema_name.encode(), digest_size=4).digest(), "big", signed=True
    )


def upload_process(*, upload_id: int) -> Upload:
    """Validate and load one upload, then do the follow-up the load owes. Safe to run twice,
    concurrently or after a crash: a run after a crash does whatever the crash left undone."""
    upload = Upload.objects.get(pk=upload_id)
    with _exclusive(upload) as acquired:
        upload.refresh_from_db()
        if not acquired:
            return upload
        if not upload.is_final:
            _load_claimed(upload)
        _followup_settle(upload)
    return upload


def _load_claimed(upload: Upload) -> None:
    Upload.objects.filter(pk=upload.pk).update(
        status=Upload.Status.LOADING, started_at=timezone.now(), attempts=F("attempts") + 1
    )
    upload.status = Upload.Status.LOADING
    try:
        _check_may_import(upload.kind, upload.acting_role)
        _load(upload)
    except (FileRefused, ImportNotAllowed) as refused:
        _finish(upload, Upload.Status.FAILED, str(refused))
    except Exception:
        logger.exception("Upload %s failed", upload.pk)
        _finish(upload, Upload.Status.FAILED, UNEXPECTED_FAILURE)


def _load(upload: Upload) -> None:
    path = Path(settings.MEDIA_ROOT) / upload.stored_path
    if upload.kind == Upload.Kind.DOCUMENTS:
        _load_documents(upload, path)
        return
    spec = SPECS[upload.kind]
    upload.rows_total = count_data_rows(str(path), upload.original_name)
    Upload.objects.filter(pk=upload.pk).update(rows_total=upload.rows_total)
    # In account_rollup mode the file itself names the account, so the column is optional.
    required = set(spec.required) - ({"account"} if upload.account_from_file else set())
    header, rows = read_header_and_rows(
        str(path),
        upload.original_name,
        expected=set(spec.expected),
        required=required,
        limits=upload_limits(),
    )
    tables = loaders.Tables(upload.pk)
    passwords: dict[int, str] = {}  # a users file's initial passwords by line, never staged
    with transaction.atomic():
        UploadError.objects.filter(upload=upload).delete()  # a rerun starts clean
        tables.drop()  # left by an earlier attempt inside the same outer transaction
        loaders.execute("SET LOCAL work_mem = %s", [LOAD_WORK_MEM])
        read, rejected = _stage(upload, tables, path, header, rows, passwords)
        loaders.stage_analyze(tables)
        rejected += loaders.reject_duplicates(tables, upload.kind, upload.pk, _error_room(upload))
        rejected += _reject_unknown_accounts(upload, tables)
        with transaction.atomic():  # a savepoint: a dry run rolls the merge back, keeps the errors
            result = _merge(upload, tables, passwords)
            if upload.dry_run:
                transaction.set_rollback(True)
        tables.drop()
        _finish_counts(upload, read, rejected, result)
        if not upload.dry_run:  # committed with the data or not at all
            UploadFollowUp.objects.create(upload=upload, account_ids=result.touched_account_ids)


# The kinds whose rows name an account; a sales row's unknown account is still created, since
# sales arrive from scheduled syncs that nobody is there to ask.
NAME_ACCOUNTS = (Upload.Kind.KPIS, Upload.Kind.SALES, Upload.Kind.RENEWALS)
MUST_NAME_KNOWN_ACCOUNTS = (Upload.Kind.KPIS, Upload.Kind.RENEWALS)


def _reject_unknown_accounts(upload: Upload, tables: loaders.Tables) -> int:
    """Map the accounts the rows name; unless the uploader asked to create missing accounts,
    reject the rows naming none (outside the merge's savepoint, so a preview reports them)."""
    if upload.kind not in NAME_ACCOUNTS:
        return 0
    loaders.resolve_accounts(tables)
    if upload.create_missing_accounts or upload.kind not in MUST_NAME_KNOWN_ACCOUNTS:
        return 0
    return loaders.reject_unknown_accounts(tables, upload.pk, _error_room(upload))


def _load_documents(upload: Upload, path: Path) -> None:
    """Each document through the document service, committed one by one: a rerun after a crash
    finds the stored ones unchanged (content hash) and carries on. A preview only checks them."""
    UploadError.objects.filter(upload=upload).delete()  # a rerun starts clean
    result, read, rejected = loaders.MergeResult(), 0, 0
    for item in documents.read_documents(str(path), upload.original_name, upload_limits()):
        read += 1
        errors = _document_store(upload, item, result) if isinstance(item, documents.DocumentIn) else item
        if errors:
            rejected += 1
            _save_errors(upload, errors)
        cache.set(progress_key(upload), read, 3600)
    _finish_counts(upload, read, rejected, result)


def _document_store(
    upload: Upload, item: documents.DocumentIn, result: loaders.MergeResult
) -> list[RowError]:
    """Store (or, in a preview, check) one document; what stopped it, field by field."""
    fields = {"doc_id": item.doc_id, "title": item.title, "content": item.content}
    try:
        if upload.dry_run:
            outcome = document_outcome(**fields)
        else:
            outcome = document_upsert(
                **fields, source_name=item.source_name, created_by=upload.uploaded_by
            ).outcome
    except ValidationError as refused:
        return [
            RowError(item.line, field, item.doc_id, " ".join(reasons))
            for field, reasons in refused.message_dict.items()
        ]
    field = {"created": "inserted", "updated": "updated", "unchanged": "unchanged"}[outcome]
    setattr(result, field, getattr(result, field) + 1)
    return []


def _stage(
    upload: Upload, tables: loaders.Tables, path: Path, header: list[str], rows, passwords: dict
) -> tuple[int, int]:
    """Valid rows into the staging table, errors recorded. Returns (rows read, rows rejected).

    Big CSV files of sales and KPI values are read by PostgreSQL and checked in SQL first
    (ingest/fastpath.py); what it does not accept, and every other file, is read in Python."""
    context = _context(upload)
    fields = tuple(sorted(SPECS[upload.kind].expected))
    dialect = csv_dialect(str(path), upload.original_name)
    copied = None
    # An Excel file has no CSV dialect: PostgreSQL cannot read it.
    if dialect is not None and fastpath.eligible(upload.kind, dialect, header, upload.account_from_file):
        copied = fastpath.copy_raw(
            tables, path, dialect, header, fields, upload.rows_total, progress_key(upload)
        )
    if copied is None:
        loaders.stage_create(tables, upload.kind)
        return _validate(upload, tables, _batches(rows), context, passwords)
    rows.close()
    accepted = fastpath.accept(tables, upload.kind, context)
    read, rejected = _validate(
        upload, tables, fastpath.leftovers(tables, fields), context, passwords, done=accepted
    )
    return accepted + read, rejected


def _batches(rows) -> Iterator[list]:
    while batch := list(itertools.islice(rows, ROW_BATCH)):
        yield batch


def _validate(
    upload: Upload, tables: loaders.Tables, batches, context: Context, passwords: dict, done: int = 0
) -> tuple[int, int]:
    """validate_row for each row; the valid ones are COPied to staging a batch at a time.
    `done`: rows already accepted before these, for the progress shown."""
    read = rejected = 0
    for batch in batches:
        valid, errors = [], []
        for row in batch:
            record, row_errors = validate_row(upload.kind, row.line, row.values, context)
            if record is None:
                rejected += 1
                errors += row_errors
            else:
                valid.append((row.line, record))
                if "initial_password" in record:
                    passwords[row.line] = record["initial_password"]
        loaders.stage_write(tables, upload.kind, valid)
        _save_errors(upload, errors)
        read += len(batch)
        cache.set(progress_key(upload), done + read, 3600)
    return read, rejected


def _context(upload: Upload) -> Context:
    kpis = {
        k.key: KpiBounds(k.key, k.min_value, k.max_value, k.name)
        for k in KpiDefinition.objects.filter(active=True)
    }
    return Context(
        today=timezone.localdate(),
        kpis=kpis,
        account_from_file=upload.account_from_file,
        acting_role=upload.acting_role,
    )


def _error_room(upload: Upload) -> int:
    return max(MAX_STORED_ERRORS - UploadError.objects.filter(upload=upload).count(), 0)


def _save_errors(upload: Upload, errors: list) -> None:
    room = _error_room(upload) if errors else 0
    UploadError.objects.bulk_create(
        UploadError(
            upload=upload, line=e.line, field=e.field[:60], value=str(e.value)[:200], reason=e.reason[:300]
        )
        for e in errors[:room]
    )


def _merge(upload: Upload, tables: loaders.Tables, passwords: dict[int, str]) -> loaders.MergeResult:
    """Merge the staged rows; a load that would take the workspace past its plan is refused whole
    (rolled back): a clear refusal, never a silent truncation."""
    try:
        return _merge_kind(upload, tables, passwords)
    except PlanLimitReached as refused:
        raise FileRefused(f"Nothing was loaded. {refused.message}") from refused


def _merge_kind(upload: Upload, tables: loaders.Tables, passwords: dict[int, str]) -> loaders.MergeResult:
    if upload.kind == Upload.Kind.ACCOUNTS:
        result = loaders.merge_accounts(tables)
    elif upload.kind == Upload.Kind.KPIS:
        result = loaders.merge_kpi_values(tables, f"{UPLOAD_SOURCE}{upload.pk}")
    elif upload.kind == Upload.Kind.SALES:
        result = loaders.merge_sales(tables, upload.pk)
    elif upload.kind == Upload.Kind.RENEWALS:
        result = loaders.merge_renewals(tables, f"{UPLOAD_SOURCE}{upload.pk}")
    else:
        return _import_users(tables, passwords, upload.acting_role)
    if upload.kind == Upload.Kind.ACCOUNTS or result.created_accounts:
        plan_limit_check(what="accounts", model=Account, adding=0)  # the rows merged above count
    return result


def _import_users(tables: loaders.Tables, passwords: dict[int, str], acting_role: str) -> loaders.MergeResult:
    """Users are few and go through the user service one by one (hashing, checks)."""
    staged = loaders.fetch(f"SELECT line, username, email, role FROM {tables.stage} ORDER BY line")
    existing = set(
        User.objects.filter(username__in=[row[1] for row in staged]).values_list("username", flat=True)
    )
    plan_limit_check(what="users", model=User, adding=len(staged) - len(existing))  # the whole file at once
    result = loaders.MergeResult()
    for line, username, email, role in staged:
        if username in existing:
            result.unchanged += 1
            continue
        user_create(
            username=username,
            email=email,
            password=passwords[line],
            role=role,
            acting_role=acting_role,
            must_change_password=True,
        )
        result.inserted += 1
    if existing:
        result.notes.append(f"Already existed, left as they are: {', '.join(sorted(existing)[:10])}")
    return result


def _finish_counts(upload: Upload, read: int, rejected: int, result: loaders.MergeResult) -> None:
    status = Upload.Status.PREVIEWED if upload.dry_run else Upload.Status.COMPLETED
    first_errors = list(
        UploadError.objects.filter(upload=upload).values("line", "field", "value", "reason")[:20]
    )
    summary = {
        "notes": _created_note(result.created_accounts, upload.dry_run) + result.notes,
        "first_errors": first_errors,
        "accounts_touched": len(result.touched_account_ids),
        "newest_date": result.newest_date.isoformat() if result.newest_date else None,
    }
    Upload.objects.filter(pk=upload.pk).update(
        rows_read=read,
        inserted=result.inserted,
        updated=result.updated,
        unchanged=result.unchanged,
        rejected=rejected,
        summary=summary,
        status=status,
        finished_at=timezone.now(),
        message=_message(status, rejected),
    )
    upload.refresh_from_db()


def _created_note(created: list[str], dry_run: bool) -> list[str]:
    """A preview wrote nothing, so it says what confirming would create."""
    if not created:
        return []
    verb = "Confirming will create" if dry_run else "Created"
    return [f"{verb} {len(created)} account(s) named in the file: {', '.join(created[:5])}"]


def _message(status: str, rejected: int) -> str:
    done = "Preview only: nothing was written." if status == Upload.Status.PREVIEWED else "Loaded."
    if rejected:
        return f"{done} {rejected} row(s) were rejected; download the error report to fix and re-upload them."
    return done


def _finish(upload: Upload, status: str, message: str) -> None:
    Upload.objects.filter(pk=upload.pk).update(status=status, message=message, finished_at=timezone.now())
    upload.refresh_from_db()


def _followup_settle(upload: Upload) -> None:
    """Do the follow-up the load recorded, then strike it off. The caller holds the upload's
    lock, so two runners never do it at once. A crash before the delete means it runs again,
    which is harmless: health_refresh recomputes and replaces snapshots and projections, insights
    are unique per account, rule and period, and trigger evaluation creates nothing twice
    (cooldowns, one open execution per playbook and account, one suggestion a month)."""
    owed = UploadFollowUp.objects.filter(upload=upload).first()
    if owed is None:
        return
    _after_load(upload, owed.account_ids)
    owed.delete()


def _after_load(upload: Upload, account_ids: list[int]) -> None:
    """Health, insights and projections for the touched accounts (renewal outcomes change no
    health, but the report card measured on them), then whoever listens."""
    if upload.kind == Upload.Kind.RENEWALS:
        report_card_refresh_later()
    elif account_ids and upload.kind != Upload.Kind.USERS:
        health_refresh(account_ids=account_ids)
    data_loaded.send_robust(sender=Upload, upload=upload, account_ids=account_ids)


# --- sales API sources and alerts ---------------------------------------------------------------


@transaction.atomic
def sync_source_save(*, source: SyncSource, api_key: str | None = None) -> SyncSource:
    """Store a new or changed sales API source. `api_key`: a new key, stored encrypted and never
    shown again; "" removes the stored one; None keeps it."""
    if api_key is not None:
        source.api_key_encrypted = encrypt(api_key) if api_key else ""
    source.full_clean()
    source.save()
    return source


def alert_resolve(*, alert: Alert, resolved_at: dt.datetime | None) -> Alert:
    """Mark an alert resolved (None opens it again); what happened stays as it was recorded."""
    alert.resolved_at = resolved_at
    alert.save(update_fields=["resolved_at"])
    return alert
