"""Legacy migration: the predecessor chatbot SaaS's JSON files (seed 004's schema) become Pulse
tenants, working API keys, usage and knowledge-base documents.

The files are only read. Each client migrates in its own transaction with its keys, usage and
documents; a bad record is skipped with its reason inside a savepoint, so it never leaves half of
itself behind nor blocks the others. Every migrated record is remembered with a fingerprint
(tenants.LegacyRecord): a second run recognises it, or reports it changed, and writes nothing.
"""

import datetime as dt
import hashlib
import json
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.text import slugify
from django_tenants.utils import schema_context

from kpis.knowledge.services import document_outcome, document_upsert
from tenants.models import LegacyRecord, Plan, Tenant
from tenants.services import (
    AdminSpec,
    LegacyClient,
    UsageCarried,
    api_key_adopt,
    legacy_record_note,
    slug_ensure_available,
    tenant_adopt_legacy,
    tenant_host,
    tenant_provision,
    usage_adopt,
)
from tenants.usage import month_start
from users.models import User
from users.password_links import password_set_path

KINDS = ("clients", "api_keys", "usage", "documents")
OPTIONAL_FILES = {"documents"}
ID_FIELD = {"clients": "client_id", "api_keys": "key_id", "usage": "client_id", "documents": "doc_id"}
# The NOT NULL columns of the predecessor's tables that have no default.
REQUIRED = {
    "clients": (
        "client_id",
        "company_name",
        "contact_email",
        "contact_name",
        "plan_type",
        "max_documents",
        "max_requests_per_month",
        "created_at",
    ),
    "api_keys": ("key_id", "client_id", "key_name", "api_key", "created_at"),
    "usage": ("client_id", "monthly_reset"),
    "documents": ("client_id", "doc_id", "content", "created_at", "updated_at"),
}
MAX_NAME = Tenant._meta.get_field("name").max_length
MIGRATED_BY = "migrate_legacy"


class LegacyFilesRefused(Exception):
    """A file is missing or not the predecessor's format: nothing is migrated."""


class BadRecord(Exception):
    """One record cannot be migrated; the message says why."""


@dataclass(frozen=True)
class Record:
    kind: str
    data: dict

    @property
    def legacy_id(self) -> str:
        own = str(self.data.get(ID_FIELD[self.kind]) or "?")
        return f"{self.data.get('client_id')}/{own}" if self.kind == "documents" else own

    @property
    def client_id(self) -> str:
        return str(self.data.get("client_id") or "")

    @property
    def fingerprint(self) -> str:
        canonical = json.dumps(self.data, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class Tally:
    total: int = 0
    new: int = 0
    already: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class AdminLink:
    slug: str
    email: str
    url: str
    mailed: str  # "sent", "not configured", "failed: …" or "dry run"


@dataclass
class Report:
    tallies: dict[str, Tally] = field(default_factory=lambda: {kind: Tally() for kind in KINDS})
    links: list[AdminLink] = field(default_factory=list)
    statistics: dict[str, int] = field(default_factory=dict)

    @property
    def skipped(self) -> int:
        return sum(len(tally.skipped) for tally in self.tallies.values())


# --- reading the files -----------------------------------------------------------------------------


def files_load(folder: Path) -> dict[str, list[Record]]:
    """Every record of the folder's JSON files, by kind; LegacyFilesRefused for a missing or
    malformed file (documents.json may be absent)."""
    if not folder.is_dir():
        raise LegacyFilesRefused(f"{folder} is not a folder. Give the folder that holds clients.json.")
    loaded = {}
    for kind in KINDS:
        path = folder / f"{kind}.json"
        if not path.exists():
            if kind in OPTIONAL_FILES:
                loaded[kind] = []
                continue
            raise LegacyFilesRefused(f"{path.name} is missing from {folder}; the migration needs it.")
        loaded[kind] = _records(kind, path)
    return loaded


def _records(kind: str, path: Path) -> list[Record]:
    try:
        parsed = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LegacyFilesRefused(
            f"{path.name} is not valid JSON ({error}). Fix or replace the file."
        ) from error
    if isinstance(parsed, list):
        return [Record(kind, item if isinstance(item, dict) else {"_value": item}) for item in parsed]
    if isinstance(parsed, dict):
        # Keyed by id: the key names the record when the record does not name itself.
        return [
            Record(kind, {ID_FIELD[kind]: key, **item} if isinstance(item, dict) else {"_value": item})
            for key, item in parsed.items()
        ]
    raise LegacyFilesRefused(f"{path.name} holds neither a list of records nor an object keyed by id.")


def backup_make(folder: Path, now: dt.datetime) -> Path:
    """Copy the JSON files, as they are, into a new <folder>/backup_<UTC timestamp>[_n]/."""
    stamp = f"backup_{now:%Y%m%d_%H%M%S}"
    try:
        backup = next(path for path in _candidates(folder, stamp) if not path.exists())
        backup.mkdir()
        for kind in KINDS:
            source = folder / f"{kind}.json"
            if source.exists():
                shutil.copy2(source, backup / source.name)
    except OSError as error:
        raise LegacyFilesRefused(
            f"Could not back the files up in {folder} ({error}). Make the folder writable."
        ) from error
    return backup


def _candidates(folder: Path, stamp: str):
    yield folder / stamp
    for n in range(2, 1000):
        yield folder / f"{stamp}_{n}"


# --- reading one record's fields ------------------------------------------------------------------


def _check_required(record: Record) -> None:
    data = record.data
    if "_value" in data:
        raise BadRecord(f"is not an object but {data['_value']!r}")
    missing = [name for name in REQUIRED[record.kind] if data.get(name) in (None, "")]
    if missing:
        raise BadRecord(f"misses the required field(s) {', '.join(missing)}")


def _text(data: dict, name: str, *, max_length: int | None = None) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRecord(f"{name} is not text: {value!r}")
    value = value.strip()
    if max_length and len(value) > max_length:
        raise BadRecord(f"{name} has {len(value)} characters, {max_length} at most")
    return value


def _exact_text(data: dict, name: str) -> str:
    """Text taken as it is (a key, a document's content)."""
    value = data.get(name)
    if not isinstance(value, str):
        raise BadRecord(f"{name} is not text: {value!r}")
    return value


def _moment(data: dict, name: str) -> dt.datetime | None:
    """An ISO 8601 timestamp; one without a zone is read as UTC."""
    value = data.get(name)
    if value in (None, ""):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise BadRecord(f"{name} is not an ISO 8601 date: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _count(data: dict, name: str) -> int:
    """A count; missing or null is 0 (required counts are checked by _check_required)."""
    value = data.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRecord(f"{name} is not a whole number of at least 0: {value!r}")
    return value


def _flag(data: dict, name: str, *, default: bool) -> bool:
    value = data.get(name)
    if value is None:
        return default
    if value in (True, False, 0, 1):  # SQLite kept booleans as 0/1
        return bool(value)
    raise BadRecord(f"{name} is not true or false: {value!r}")


# --- the run ----------------------------------------------------------------------------------------


class _DryRunRollback(Exception):
    """Raised at the end of a client's transaction in a dry run, to undo it."""


@dataclass
class Run:
    plans: dict[str, Plan]
    dry_run: bool
    resend_links: bool = False
    report: Report = field(default_factory=Report)
    slugs_taken: set[str] = field(default_factory=set)


def plans_resolve(plan_map: dict[str, str]) -> dict[str, Plan]:
    """Legacy plan type → Pulse plan: Pulse's plans under their own names, then the map's entries."""
    plans = {plan.name: plan for plan in Plan.objects.all()}
    unknown = sorted(target for target in plan_map.values() if target not in plans)
    if unknown:
        raise LegacyFilesRefused(
            f"--plan-map names no Pulse plan {', '.join(unknown)}; Pulse's plans are {', '.join(plans)}."
        )
    return plans | {legacy: plans[target] for legacy, target in plan_map.items()}


def legacy_migrate(
    *, folder: Path, plan_map: dict[str, str], dry_run: bool = False, resend_links: bool = False
) -> tuple[Report, Path | None]:
    """Migrate the folder's files; returns the report and the backup folder (None in a dry run).
    With resend_links, admins migrated earlier who have not set a password yet get a new link."""
    records = files_load(folder)
    run = Run(plans=plans_resolve(plan_map), dry_run=dry_run, resend_links=resend_links)
    backup = None if dry_run else backup_make(folder, timezone.now())
    for kind in KINDS:
        run.report.tallies[kind].total = len(records[kind])
    for client_id, group in _by_client(records).items():
        _client_migrate(run, client_id, group)
    run.report.statistics = _statistics(run)
    return run.report, backup


def _by_client(records: dict[str, list[Record]]) -> dict[str, dict[str, list[Record]]]:
    """Records grouped by their client, in the order clients appear (clients.json first)."""
    groups: dict[str, dict[str, list[Record]]] = defaultdict(lambda: {kind: [] for kind in KINDS})
    for kind in KINDS:
        for record in records[kind]:
            groups[record.client_id][kind].append(record)
    return groups


def _client_migrate(run: Run, client_id: str, group: dict[str, list[Record]]) -> None:
    """One client, its keys, usage and documents in one transaction. Outcomes reach the report
    only once the transaction is over, so a client that fails reports nothing as migrated."""
    outcome = Report()
    try:
        with transaction.atomic():
            tenant = _tenant_for(run, client_id, group["clients"], outcome)
            for kind, migrate in CHILD_MIGRATIONS.items():
                for record in group[kind]:
                    _record_migrate(record, tenant, outcome, lambda r=record, m=migrate: m(run, tenant, r))
            if run.dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    except BadRecord as refusal:  # the client itself: its records cannot go anywhere
        outcome = _all_skipped(group, f"its client was not migrated: {refusal}")
        outcome.tallies["clients"].skipped = [(record.legacy_id, str(refusal)) for record in group["clients"]]
    except Exception as error:  # the transaction rolled back: say so and go on with the next client
        outcome = _all_skipped(group, f"client {client_id} failed and nothing of it was written: {error!r}")
    outcome.links = [link if link.mailed else _mailed(link) for link in outcome.links]
    _merge(run.report, outcome)


def _tenant_for(run: Run, client_id: str, client_records: list[Record], outcome: Report) -> Tenant:
    """The client's tenant: made now, made by an earlier run, or (for a client only the other
    files name) the one an earlier run made."""
    if len(client_records) > 1:
        raise BadRecord(f"client {client_id} appears {len(client_records)} times in clients.json")
    if not client_records:
        tenant = Tenant.objects.filter(legacy_client_id=client_id).first() if client_id else None
        if tenant is None:
            raise BadRecord(f"no client {client_id or '(missing client_id)'} in clients.json")
        return tenant
    record = client_records[0]
    previous = (
        LegacyRecord.objects.select_related("tenant")
        .filter(kind="clients", legacy_id=record.legacy_id)
        .first()
    )
    if previous is not None:
        _previous_outcome(record, previous, outcome)
        if run.resend_links:
            outcome.links += _pending_admin_links(run, previous.tenant)
        return previous.tenant
    try:
        tenant, link = _tenant_create(run, record)
    except ValidationError as refusal:
        raise BadRecord(_said(refusal)) from refusal
    outcome.tallies["clients"].new += 1
    outcome.links.append(link)
    return tenant


def _tenant_create(run: Run, record: Record) -> tuple[Tenant, AdminLink]:
    _check_required(record)
    data = record.data
    name = _text(data, "company_name", max_length=MAX_NAME)
    email = _text(data, "contact_email")
    try:
        validate_email(email)
    except ValidationError:
        raise BadRecord(f"contact_email is not an e-mail address: {email!r}") from None
    plan = _plan_for(run, _text(data, "plan_type"))
    client = _legacy_client(record, plan)
    slug = _slug_for(run, name, record.legacy_id)
    admin = AdminSpec(full_name=_text(data, "contact_name", max_length=MAX_NAME), email=email, password=None)
    tenant = tenant_provision(name=name, slug=slug, admin=admin, plan=plan)
    tenant_adopt_legacy(tenant=tenant, client=client)
    legacy_record_note(
        kind="clients", legacy_id=record.legacy_id, tenant=tenant, fingerprint=record.fingerprint
    )
    run.slugs_taken.add(slug)
    return tenant, _admin_link(run, tenant, email)


def _legacy_client(record: Record, plan: Plan) -> LegacyClient:
    data = record.data
    status = _text(data, "status") or Tenant.Status.ACTIVE
    if status not in Tenant.Status.values:
        raise BadRecord(f"status is {status!r}; it must be active or suspended")
    return LegacyClient(
        client_id=record.legacy_id,
        suspended=status == Tenant.Status.SUSPENDED,
        created_at=_moment(data, "created_at"),
        last_active=_moment(data, "last_active"),
        custom_max_documents=_own_limit(_count(data, "max_documents"), plan.max_documents),
        custom_max_requests_per_month=_own_limit(
            _count(data, "max_requests_per_month"), plan.max_api_requests_per_month
        ),
    )


def _plan_for(run: Run, plan_type: str) -> Plan:
    plan = run.plans.get(plan_type)
    if plan is None:
        raise BadRecord(
            f"plan_type {plan_type!r} has no Pulse plan; map it with --plan-map {plan_type}=<plan> "
            f"(Pulse's plans: {', '.join(sorted({p.name for p in run.plans.values()}))})"
        )
    return plan


def _own_limit(legacy_limit: int, plan_limit: int) -> int | None:
    """The client's limit when it differs from its plan's; None follows the plan."""
    return None if legacy_limit == plan_limit else legacy_limit


def _slug_for(run: Run, company_name: str, client_id: str) -> str:
    """A free subdomain from the company name (accents dropped); from the client id when the name
    has too few Latin letters; -2, -3, … when taken or reserved."""
    base = re.sub(r"[-_]+", "-", slugify(company_name))[:26].strip("-")  # subdomains have no underscores
    if len(base) < 3:
        base = "client-" + hashlib.sha256(client_id.encode()).hexdigest()[:8]
    for candidate in [base] + [f"{base}-{n}" for n in range(2, 100)]:
        if candidate in run.slugs_taken:
            continue
        try:
            slug_ensure_available(candidate)
        except ValidationError:
            continue
        return candidate
    raise BadRecord(f"no free subdomain for {company_name!r}")


def _admin_link(run: Run, tenant: Tenant, email: str) -> AdminLink:
    if run.dry_run:
        return AdminLink(tenant.schema_name, email, "(made by the real run)", "dry run")
    with schema_context(tenant.schema_name):
        path = password_set_path(User.objects.get(email=email, role=User.Role.ADMIN))
    scheme, port = ("http", f":{settings.PULSE_PORT}") if settings.DEBUG else ("https", "")
    return AdminLink(
        tenant.schema_name, email, f"{scheme}://{tenant_host(tenant.schema_name)}{port}{path}", ""
    )


def _pending_admin_links(run: Run, tenant: Tenant) -> list[AdminLink]:
    """A new link for the migrated admin, if they have not set a password yet (links expire)."""
    with schema_context(tenant.schema_name):
        admin = User.objects.filter(email=tenant.contact_email, role=User.Role.ADMIN).first()
        waiting = admin is not None and not admin.has_usable_password()
    return [_admin_link(run, tenant, tenant.contact_email)] if waiting else []


# --- keys, usage, documents -------------------------------------------------------------------------


def _record_migrate(record: Record, tenant: Tenant, outcome: Report, migrate) -> None:
    """Migrate one record in a savepoint, or recognise it from an earlier run, or skip it."""
    tally = outcome.tallies[record.kind]
    previous = LegacyRecord.objects.filter(kind=record.kind, legacy_id=record.legacy_id).first()
    if previous is not None:
        _previous_outcome(record, previous, outcome, tenant)
        return
    try:
        with transaction.atomic():
            _check_required(record)
            migrate()
            legacy_record_note(
                kind=record.kind, legacy_id=record.legacy_id, tenant=tenant, fingerprint=record.fingerprint
            )
    except BadRecord as refusal:
        tally.skipped.append((record.legacy_id, str(refusal)))
    except ValidationError as refusal:
        tally.skipped.append((record.legacy_id, _said(refusal)))
    else:
        tally.new += 1


def _previous_outcome(
    record: Record, previous: LegacyRecord, outcome: Report, tenant: Tenant | None = None
) -> None:
    tally = outcome.tallies[record.kind]
    if previous.fingerprint == record.fingerprint and (tenant is None or previous.tenant_id == tenant.pk):
        tally.already += 1
        return
    tally.skipped.append(
        (
            record.legacy_id,
            f"changed in the JSON since it was migrated on {previous.migrated_at:%Y-%m-%d %H:%M} UTC; "
            "Pulse keeps what it migrated then (change it in Pulse if the change is wanted)",
        )
    )


def _key_migrate(run: Run, tenant: Tenant, record: Record) -> None:
    data = record.data
    active = _flag(data, "is_active", default=True)
    api_key_adopt(
        tenant=tenant,
        name=_text(data, "key_name"),
        full_key=_exact_text(data, "api_key"),
        created_at=_moment(data, "created_at"),
        expires_at=_moment(data, "expires_at"),
        last_used_at=_moment(data, "last_used"),
        revoked_at=None if active else timezone.now(),
        created_by=MIGRATED_BY,
    )


def _usage_migrate(run: Run, tenant: Tenant, record: Record) -> None:
    """This month's counts go to the month the predecessor last reset its counters in; what the
    totals hold beyond them goes to the month before, so Pulse's totals match too."""
    data = record.data
    month = month_start(tenant, _moment(data, "monthly_reset"))
    if month > month_start(tenant):
        raise BadRecord(f"monthly_reset is in a month still to come: {data['monthly_reset']!r}")
    requests, documents = _count(data, "requests_this_month"), _count(data, "documents_this_month")
    earlier_requests = _count(data, "total_requests") - requests
    earlier_documents = _count(data, "total_documents") - documents
    if earlier_requests < 0 or earlier_documents < 0:
        raise BadRecord("a total is smaller than this month's count")
    months = [
        UsageCarried(
            month=month,
            requests=requests,
            documents=documents,
            last_request_at=_moment(data, "last_request"),
            last_upload_at=_moment(data, "last_document_upload"),
        )
    ]
    if earlier_requests or earlier_documents:
        before = (month - dt.timedelta(days=1)).replace(day=1)
        months.append(UsageCarried(month=before, requests=earlier_requests, documents=earlier_documents))
    usage_adopt(tenant=tenant, months=months)


def _document_migrate(run: Run, tenant: Tenant, record: Record) -> None:
    data = record.data
    doc_id, title = str(data["doc_id"]), _text(data, "title")
    content = _exact_text(data, "content")
    for name in ("created_at", "updated_at"):  # not kept (Pulse dates its documents), but checked
        _moment(data, name)
    with schema_context(tenant.schema_name):
        if document_outcome(doc_id=doc_id, title=title, content=content) != "created":
            raise BadRecord(f"the workspace already has a document {doc_id!r}; it is not overwritten")
        document_upsert(
            doc_id=doc_id, title=title, content=content, source_name="chatbot SaaS", created_by=MIGRATED_BY
        )


CHILD_MIGRATIONS = {"api_keys": _key_migrate, "usage": _usage_migrate, "documents": _document_migrate}


# --- reporting --------------------------------------------------------------------------------------


def _said(refusal: ValidationError) -> str:
    if hasattr(refusal, "error_dict"):
        return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in refusal.message_dict.items())
    return " ".join(refusal.messages)


def _all_skipped(group: dict[str, list[Record]], reason: str) -> Report:
    outcome = Report()
    for kind in KINDS:
        outcome.tallies[kind].skipped = [(record.legacy_id, reason) for record in group[kind]]
    return outcome


def _merge(report: Report, outcome: Report) -> None:
    for kind in KINDS:
        tally, part = report.tallies[kind], outcome.tallies[kind]
        tally.new += part.new
        tally.already += part.already
        tally.skipped += part.skipped
    report.links += outcome.links


def _mailed(link: AdminLink) -> AdminLink:
    """E-mail a new admin their link, once their tenant is committed (when mail is configured)."""
    if not settings.EMAIL_URL:
        return AdminLink(link.slug, link.email, link.url, "not configured")
    body = (
        f"Your chatbot service has moved to Pulse. Your workspace is {tenant_host(link.slug)}.\n\n"
        f"Set your password here (the link works once): {link.url}\n\n"
        "Your API keys keep working unchanged."
    )
    try:
        send_mail("Your workspace on Pulse: set your password", body, None, [link.email])
    except Exception as error:  # any mail failure: the link is printed, the run goes on
        return AdminLink(link.slug, link.email, link.url, f"failed: {error}")
    return AdminLink(link.slug, link.email, link.url, "sent")


def _statistics(run: Run) -> dict[str, int]:
    """What Pulse now holds from the predecessor, per kind (in a dry run: as it would)."""
    stored = dict(LegacyRecord.objects.values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
    pending = {kind: run.report.tallies[kind].new for kind in KINDS} if run.dry_run else {}
    return {kind: stored.get(kind, 0) + pending.get(kind, 0) for kind in KINDS}
