"""Every write about tenants goes through here: provisioning, details, plans, suspension, API
keys, usage, bootstrap steps. The plan's limits on what a workspace holds are tenants/limits.py."""

import datetime as dt
import logging
import multiprocessing
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, ProgrammingError, connection, connections, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from tenants.keys import key_generate, key_split, legacy_key_digest
from tenants.models import ApiKey, Currency, Domain, LegacyRecord, Plan, SchemaHealth, Tenant, UsageMonth
from tenants.plans import plans_ensure_defaults
from tenants.schema_clone import schema_clone
from tenants.schema_migrate import schema_migrate
from tenants.selectors import schema_pending_migrations, schemas_missing_migrations
from tenants.usage import month_start
from tenants.validators import slack_webhook_refusal, validate_slug
from users.audit import SYSTEM, audit_record
from users.models import User
from users.services import user_create
from users.throttling import retry_phrase

logger = logging.getLogger(__name__)

DEFAULT_PLAN_NAME = "free"
DUPLICATE_SCHEMA = "42P06"
MAX_KEY_NAME: int = ApiKey._meta.get_field("name").max_length  # type: ignore[assignment]  # set on the model
# What lists show of a taken-over key in place of a Pulse prefix (the key's own characters are not kept).
LEGACY_KEY_PREFIX = "legacy_"


class SlugTaken(ValidationError):
    """The subdomain belongs to another tenant (possibly one created a moment ago)."""

    def __init__(self, slug: str):
        super().__init__(f"The subdomain “{slug}” is already taken. Please choose another.", code="taken")


class RegistrationLimitReached(ValidationError):
    """This address submitted REGISTRATION_LIMIT_PER_HOUR registrations in this clock hour."""

    def __init__(self, retry_at: dt.datetime):
        message = f"Too many registrations from your address. Try again {retry_phrase(retry_at)}."
        super().__init__(message, code="throttled")


@dataclass(frozen=True)
class AdminSpec:
    full_name: str
    email: str
    password: str | None  # None: no password yet, the admin sets one through a one-time link
    username: str = ""


def tenant_host(slug: str) -> str:
    return f"{slug}.{settings.PULSE_BASE_DOMAIN}"


def host_url(request, host: str) -> str:
    """The root of `host` on the same scheme and port as this request."""
    port = request.get_port()
    default_port = "443" if request.is_secure() else "80"
    return f"{request.scheme}://{host}{'' if port == default_port else f':{port}'}/"


def slug_ensure_available(slug: str) -> None:
    """Raise a form-ready ValidationError when the slug is malformed, reserved or taken."""
    validate_slug(slug)
    if Tenant.objects.filter(schema_name=slug).exists() or schema_exists(slug):
        raise SlugTaken(slug)


def base_schema_ensure(*, verbosity: int = 0) -> None:
    """Create the template schema if missing and bring it to the latest migration.

    New tenants are cloned from it, so it must be migrated whenever tenants are.
    """
    base = settings.TENANT_BASE_SCHEMA
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{base}"')
    if schemas_missing_migrations([base])[base]:
        call_command("migrate_schemas", tenant=True, schema_name=base, interactive=False, verbosity=verbosity)


class SchemaMigrationFailed(Exception):
    """A tenant schema's migration failed: that migration was rolled back there (each runs in a
    transaction), the schemas migrated before it keep theirs, the rest were not started."""

    def __init__(self, schema_name: str, error: str):
        self.schema_name = schema_name
        super().__init__(f"Migrating schema “{schema_name}” failed: {error}")


def schemas_migrate(*, missing: dict[str, list[str]], processes: int = 1) -> None:
    """Apply to each schema the migrations it lacks (`missing`: schema → "app.name"s, as
    schemas_missing_migrations reads them), `processes` schemas at a time (forked worker
    processes, as django-tenants' multiprocessing executor). The first failure stops the run and
    raises SchemaMigrationFailed naming its schema."""
    work = [(schema, tuple(names)) for schema, names in missing.items()]
    if processes <= 1 or len(work) <= 1:
        _first_failure_raise(map(_schema_migrate, work))
        return
    connections.close_all()  # a forked child must open its own connection
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        # Leaving the block terminates the pool: a child stopped mid-migration rolls it back.
        _first_failure_raise(pool.imap_unordered(_schema_migrate, work))


def _first_failure_raise(failures) -> None:
    for schema_name, error in failures:
        if error:
            raise SchemaMigrationFailed(schema_name, error)


def _schema_migrate(work: tuple[str, tuple[str, ...]]) -> tuple[str, str]:
    """Migrate one schema; (its name, the error or "")."""
    schema_name, missing = work
    try:
        schema_migrate(schema_name, missing)
    except Exception as error:  # reported with the schema's name by the caller
        logger.exception("Migrating schema %s failed", schema_name)
        return schema_name, f"{type(error).__name__}: {error}"
    return schema_name, ""


def schema_create(*, schema_name: str, strategy: str = "clone", verbosity: int = 0) -> None:
    """Make a tenant schema: clone the migrated base schema (fast), or replay migrations.

    The clone copies the base schema's django_migrations rows too, so the new schema is
    recorded at the latest migration without the fake-migrate pass django-tenants runs.
    """
    if strategy == "clone":
        schema_clone(source=settings.TENANT_BASE_SCHEMA, target=schema_name)
        return
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema_name}"')
    call_command(
        "migrate_schemas", tenant=True, schema_name=schema_name, interactive=False, verbosity=verbosity
    )


def tenant_provision(
    *,
    name: str,
    slug: str,
    admin: AdminSpec,
    contact_phone: str = "",
    plan: Plan | None = None,
    strategy: str = "clone",
    demo_peer: bool = False,
) -> Tenant:
    """Create a tenant with its schema, host and first admin user, all or nothing.

    Everything runs in one transaction (PostgreSQL DDL is transactional): a failure leaves
    no row, no schema and no user behind. The unique schema_name makes a concurrent
    registration of the same slug wait for ours and then fail with SlugTaken.
    """
    slug_ensure_available(slug)
    try:
        with transaction.atomic():
            tenant = Tenant.objects.create(
                schema_name=slug,
                name=name,
                contact_name=admin.full_name,
                contact_email=admin.email,
                contact_phone=contact_phone,
                plan=plan or Plan.objects.filter(name=DEFAULT_PLAN_NAME).first(),
                demo_peer=demo_peer,
            )
            Domain.objects.create(tenant=tenant, domain=tenant_host(slug), is_primary=True)
            schema_create(schema_name=slug, strategy=strategy)
            with schema_context(slug):
                tenant_admin_create(admin=admin)
    except IntegrityError as error:
        raise SlugTaken(slug) from error
    except ProgrammingError as error:
        # A schema of that name appeared since our check (CREATE SCHEMA refused it).
        if getattr(error.__cause__, "sqlstate", "") == DUPLICATE_SCHEMA:
            raise SlugTaken(slug) from error
        raise
    logger.info("Provisioned tenant %s", slug)
    return tenant


def registration_attempt_record(*, address: str | None) -> None:
    """Count one submitted registration form from this address; raise RegistrationLimitReached
    past the hourly limit.

    Every submission counts, refused ones too: the limit is against bots probing or filling the
    form, and a person rarely needs more than a couple of tries. The counter is one Redis key per
    address and clock hour (through the tenant-prefixed cache, public schema here), created with
    add() and raised with incr(), both atomic, so concurrent requests and web workers share it.
    """
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    key = f"registration-attempts:{address}:{hour:%Y%m%d%H}"
    # The key names its hour; it lives a little longer so it cannot expire before incr().
    cache.add(key, 0, timeout=61 * 60)
    if cache.incr(key) > settings.REGISTRATION_LIMIT_PER_HOUR:
        raise RegistrationLimitReached(hour + dt.timedelta(hours=1))


def tenant_admin_create(*, admin: AdminSpec) -> User:
    """The first user of a tenant, in the current (tenant) schema. Registration acts for Pulse,
    which makes each workspace's first admin."""
    return user_create(
        username=admin.username or admin.email.lower(),
        email=admin.email,
        full_name=admin.full_name,
        password=admin.password,
        role=User.Role.ADMIN,
        acting_role=User.Role.ADMIN,
    )


def tenant_suspend(*, tenant: Tenant, reason: str = "") -> Tenant:
    """Block the portal and API of a tenant. Its data stays untouched."""
    tenant.status = Tenant.Status.SUSPENDED
    tenant.suspended_reason = reason
    tenant.save(update_fields=["status", "suspended_reason"])
    return tenant


def tenant_reactivate(*, tenant: Tenant) -> Tenant:
    tenant.status = Tenant.Status.ACTIVE
    tenant.suspended_reason = ""
    tenant.save(update_fields=["status", "suspended_reason"])
    return tenant


@dataclass(frozen=True)
class LegacyClient:
    """What the predecessor SaaS knew about a customer that Pulse keeps on its tenant."""

    client_id: str
    suspended: bool
    created_at: dt.datetime
    last_active: dt.datetime | None
    custom_max_documents: int | None
    custom_max_requests_per_month: int | None


LEGACY_SUSPENSION_REASON = (
    "it was suspended in the previous chatbot service; contact Pulse support to reactivate it"
)


@transaction.atomic
def tenant_adopt_legacy(*, tenant: Tenant, client: LegacyClient) -> Tenant:
    """Give a freshly provisioned tenant the identity, limits, status and dates it had in the
    predecessor SaaS."""
    tenant.legacy_client_id = client.client_id
    tenant.custom_max_documents = client.custom_max_documents
    tenant.custom_max_requests_per_month = client.custom_max_requests_per_month
    tenant.last_active = client.last_active
    tenant.save(
        update_fields=[
            "legacy_client_id",
            "custom_max_documents",
            "custom_max_requests_per_month",
            "last_active",
        ]
    )
    # created_at is auto_now_add: the original moment is set with an update.
    Tenant.objects.filter(pk=tenant.pk).update(created_at=client.created_at)
    tenant.created_at = client.created_at
    if client.suspended:
        tenant_suspend(tenant=tenant, reason=LEGACY_SUSPENSION_REASON)
    return tenant


def tenant_change_plan(*, tenant: Tenant, plan: Plan) -> Tenant:
    """New limits apply from the next request; usage so far this month is kept."""
    tenant.plan = plan
    tenant.save(update_fields=["plan"])
    return tenant


def tenant_save(*, tenant: Tenant) -> Tenant:
    """Store staff's changes to a tenant's details (name, contacts, plan, status, time zone). Its
    schema is named once at provisioning and never renamed here (the back office shows it read-only)."""
    tenant.full_clean()
    tenant.save()
    return tenant


def plan_save(*, plan: Plan) -> Plan:
    """Store a new or changed plan. Tenants on it meet the new limits from their next request or
    write; what they hold already stays, and usage so far this month is kept."""
    plan.full_clean()
    plan.save()
    return plan


@transaction.atomic
def tenant_peer_benchmarks_set(
    *, tenant: Tenant, enabled: bool, changed_by: str, actor: str = SYSTEM
) -> Tenant:
    """Opt in to (or out of) peer benchmarks. The next nightly publication includes or leaves
    out this tenant's aggregates; seeing peer cells follows the flag at once."""
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.peer_benchmarks == enabled:
        return tenant
    tenant.peer_benchmarks = enabled
    tenant.peer_benchmarks_changed_at = timezone.now()
    tenant.peer_benchmarks_changed_by = changed_by
    tenant.save(update_fields=["peer_benchmarks", "peer_benchmarks_changed_at", "peer_benchmarks_changed_by"])
    _settings_audit(tenant=tenant, actor=actor, detail={"peer_benchmarks": enabled})
    return tenant


def _settings_audit(*, tenant: Tenant, actor: str, detail: dict) -> None:
    _tenant_audit(
        tenant=tenant,
        actor=actor,
        action="changed",
        target_type="workspace settings",
        target=tenant.name,
        detail=detail,
    )


def _key_audit(*, key: ApiKey, actor: str, action: str, detail: dict | None = None) -> None:
    target = f"{key.name} ({key.prefix})"
    _tenant_audit(
        tenant=key.tenant, actor=actor, action=action, target_type="api key", target=target, detail=detail
    )


def _tenant_audit(*, tenant: Tenant, **event) -> None:
    """Keys and settings are public-schema rows, but their log is the tenant's own: write it in the
    tenant's schema whichever schema the caller (a command, the back office) is on."""
    with schema_context(tenant.schema_name):
        audit_record(**event)


def tenant_touch(*, tenant: Tenant, every_seconds: int = 300) -> None:
    """Record activity without a write per request: at most one UPDATE per interval."""
    now = timezone.now()
    if tenant.last_active and (now - tenant.last_active).total_seconds() < every_seconds:
        return
    Tenant.objects.filter(pk=tenant.pk).update(last_active=now)
    tenant.last_active = now


def public_tenant_ensure() -> Tenant:
    """The public tenant, its hosts (base domain and 127.0.0.1) and the default plans."""
    plans_ensure_defaults(Plan)
    tenant, _ = Tenant.objects.get_or_create(
        schema_name=settings.PUBLIC_SCHEMA_NAME, defaults={"name": "Pulse (public site)"}
    )
    for index, host in enumerate([settings.PULSE_BASE_DOMAIN, "127.0.0.1"]):
        Domain.objects.get_or_create(domain=host, defaults={"tenant": tenant, "is_primary": index == 0})
    return tenant


def schema_health_record(*, schema_name: str) -> SchemaHealth:
    """Check one tenant schema and store the result (SchemaHealth, public schema)."""
    tenant = Tenant.objects.get(schema_name=schema_name)
    try:
        pending = schema_pending_migrations(schema_name)
        reachable, detail = True, "" if not pending else f"{len(pending)} migration(s) not applied"
    except Exception as error:  # any database failure is the finding itself
        logger.exception("Health check of schema %s failed", schema_name)
        pending, reachable, detail = [], False, f"Schema unreachable: {error}"[:500]
    health, _ = SchemaHealth.objects.update_or_create(
        tenant=tenant,
        defaults={
            "checked_at": timezone.now(),
            "ok": reachable and not pending,
            "reachable": reachable,
            "pending_migrations": pending,
            "detail": detail,
        },
    )
    return health


@transaction.atomic
def api_key_create(
    *,
    tenant: Tenant,
    name: str,
    scope: str = ApiKey.Scope.WRITE,
    created_by: str = "",
    expires_at: dt.datetime | None = None,
    actor: str = SYSTEM,
) -> tuple[ApiKey, str]:
    """Make a key for `tenant`. Returns the record and the full key, which is never stored
    and cannot be shown again."""
    if not name.strip():
        raise ValidationError({"name": "Give the key a name that says where it is used, e.g. “CRM sync”."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    new = key_generate()
    key = ApiKey(
        tenant=tenant,
        name=name.strip(),
        prefix=new.prefix,
        salt=new.salt,
        secret_hash=new.secret_hash,
        scope=scope,
        created_by=created_by,
        expires_at=expires_at,
    )
    key.full_clean()
    key.save()
    expiry = expires_at.isoformat() if expires_at else None
    _key_audit(key=key, actor=actor, action="created", detail={"scope": scope, "expires_at": expiry})
    return key, new.full_key


@transaction.atomic
def api_key_adopt(
    *,
    tenant: Tenant,
    name: str,
    full_key: str,
    created_at: dt.datetime,
    expires_at: dt.datetime | None = None,
    last_used_at: dt.datetime | None = None,
    revoked_at: dt.datetime | None = None,
    created_by: str = "",
) -> ApiKey:
    """Take over a key another system issued (the predecessor SaaS), so the integrations holding
    it keep working: it authenticates like a Pulse key, and only its digest is stored."""
    name, digest = name.strip(), legacy_key_digest(full_key)
    if not name or len(name) > MAX_KEY_NAME:
        raise ValidationError({"name": f"The key name must have 1 to {MAX_KEY_NAME} characters."})
    if not full_key.strip() or full_key != full_key.strip() or key_split(full_key) is not None:
        raise ValidationError(
            {"api_key": "The key is empty, has surrounding spaces or looks like a Pulse key."}
        )
    if ApiKey.objects.filter(legacy_digest=digest).exists():
        raise ValidationError({"api_key": "The same key is already in Pulse, under another key record."})
    key = ApiKey.objects.create(
        tenant=tenant,
        name=name,
        prefix=f"{LEGACY_KEY_PREFIX}{digest[:16]}",
        legacy_digest=digest,
        created_by=created_by,
        expires_at=expires_at,
        last_used_at=last_used_at,
        revoked_at=revoked_at,
    )
    # created_at is auto_now_add: the original moment is set after the insert.
    ApiKey.objects.filter(pk=key.pk).update(created_at=created_at)
    key.created_at = created_at
    return key


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: str = SYSTEM) -> ApiKey:
    """Revoke at once; the very next request with the key is refused. Idempotent."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        _key_audit(key=key, actor=actor, action="revoked")
    return key


@dataclass(frozen=True)
class UsageCarried:
    """Use counted elsewhere (the predecessor SaaS) in one month of a tenant."""

    month: dt.date
    requests: int
    documents: int
    last_request_at: dt.datetime | None = None
    last_upload_at: dt.datetime | None = None


@transaction.atomic
def usage_adopt(*, tenant: Tenant, months: list[UsageCarried]) -> list[UsageMonth]:
    """Carry use counted before the tenant came to Pulse into its usage, so quotas and totals
    continue where they were. Refuses a month the tenant already has use in."""
    taken = set(
        UsageMonth.objects.filter(tenant=tenant, month__in=[m.month for m in months]).values_list(
            "month", flat=True
        )
    )
    if taken:
        listed = ", ".join(f"{month:%Y-%m}" for month in sorted(taken))
        raise ValidationError(
            f"The workspace already has usage in {listed}; carried usage would double count."
        )
    return UsageMonth.objects.bulk_create(
        UsageMonth(
            tenant=tenant,
            month=m.month,
            requests=m.requests,
            documents=m.documents,
            last_request_at=m.last_request_at,
            last_upload_at=m.last_upload_at,
        )
        for m in months
    )


def usage_record_upload(*, tenant: Tenant, documents: int = 1) -> None:
    """Count uploaded documents against this month, in one upsert (like requests)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO public.tenants_usagemonth (tenant_id, month, requests, documents, last_upload_at)
            VALUES (%s, %s, 0, %s, %s)
            ON CONFLICT (tenant_id, month) DO UPDATE
                SET documents = tenants_usagemonth.documents + EXCLUDED.documents, last_upload_at = EXCLUDED.last_upload_at
            """,
            [tenant.pk, month_start(tenant, now), documents, now],
        )


@transaction.atomic
def legacy_record_note(*, kind: str, legacy_id: str, tenant: Tenant, fingerprint: str) -> LegacyRecord:
    """Remember that a record of the predecessor's files became Pulse data, and as what version."""
    return LegacyRecord.objects.create(kind=kind, legacy_id=legacy_id, tenant=tenant, fingerprint=fingerprint)


# Copied from a backup's tenant row; ids, schema, host and timestamps are the new tenant's own.
RESTORED_TENANT_FIELDS = (
    "name",
    "contact_name",
    "contact_email",
    "contact_phone",
    "status",
    "suspended_reason",
    "timezone",
    "custom_max_documents",
    "custom_max_requests_per_month",
)
RESTORED_KEY_FIELDS = ("name", "scope", "created_by", "expires_at", "last_used_at")
RESTORED_USAGE_FIELDS = ("month", "requests", "documents", "last_request_at", "last_upload_at")


def tenant_restore_public_rows(*, slug: str, rows: dict) -> Tenant:
    """The public rows of a tenant restored side by side under `slug` (its schema already in
    place): a new tenant row, plan by name, one new host, its usage, and its API keys as revoked
    records with new prefixes and secrets nobody holds, so no key of the original opens the copy."""
    validate_slug(slug)
    try:
        with schema_context(get_public_schema_name()), transaction.atomic():
            return _restored_tenant_create(slug=slug, rows=rows)
    except IntegrityError as error:  # another tenant took the slug meanwhile
        raise SlugTaken(slug) from error


def _restored_tenant_create(*, slug: str, rows: dict) -> Tenant:
    tenant = Tenant.objects.create(
        schema_name=slug,
        plan=_plan_restore(rows["plan"]),
        **{field: rows["tenant"][field] for field in RESTORED_TENANT_FIELDS},
    )
    Domain.objects.create(tenant=tenant, domain=tenant_host(slug), is_primary=True)
    now = timezone.now()
    for key in rows["api_keys"]:
        new = key_generate()
        ApiKey.objects.create(
            tenant=tenant,
            prefix=new.prefix,
            salt=new.salt,
            secret_hash=new.secret_hash,
            revoked_at=key["revoked_at"] or now,
            **{field: key[field] for field in RESTORED_KEY_FIELDS},
        )
    UsageMonth.objects.bulk_create(
        UsageMonth(tenant=tenant, **{field: usage[field] for field in RESTORED_USAGE_FIELDS})
        for usage in rows["usage_months"]
    )
    return tenant


def _plan_restore(plan: dict | None) -> Plan | None:
    """The plan of that name (plans are shared), created from the backup if it is gone."""
    if plan is None:
        return None
    defaults = {field: value for field, value in plan.items() if field not in ("id", "name")}
    return Plan.objects.get_or_create(name=plan["name"], defaults=defaults)[0]


@transaction.atomic
def tenant_currency_set(*, tenant: Tenant, currency: str, actor: str = SYSTEM) -> Tenant:
    """The currency the portal writes this workspace's money in (labels only: nothing is converted)."""
    if currency not in Currency.values:
        raise ValidationError({"currency": f"Choose one of: {', '.join(Currency.values)}."})
    before = tenant.currency
    Tenant.objects.filter(pk=tenant.pk).update(currency=currency)
    tenant.currency = currency
    if before != currency:
        _settings_audit(tenant=tenant, actor=actor, detail={"currency": [before, currency]})
    return tenant


def tenant_slack_webhook_set(*, tenant: Tenant, url: str) -> Tenant:
    """The Slack incoming webhook told of new critical insights ("" turns it off)."""
    url = url.strip()
    refusal = slack_webhook_refusal(url) if url else ""
    if refusal:
        raise ValidationError({"slack_webhook_url": refusal})
    Tenant.objects.filter(pk=tenant.pk).update(slack_webhook_url=url)
    tenant.slack_webhook_url = url
    return tenant
