"""Reads about tenants and their schemas."""

import datetime as dt
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.models import Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_tenants.utils import schema_exists

from tenants.connection import tenant_connection
from tenants.keys import key_matches, key_split, legacy_key_digest
from tenants.models import ApiKey, Plan, Tenant, UsageMonth
from tenants.usage import month_start, usage_figures


def tenants_active() -> QuerySet[Tenant]:
    """Tenants that periodic work should visit: every active tenant but the public one."""
    return Tenant.objects.exclude(schema_name="public").filter(status=Tenant.Status.ACTIVE)


def tenants_sharing_peer_benchmarks() -> QuerySet[Tenant]:
    """Active tenants that opted in to peer benchmarks: the nightly task reads their schemas."""
    return tenants_active().filter(peer_benchmarks=True)


def tenant_app_schemas() -> list[str]:
    """The schemas that hold the tenant apps' tables: the template (once made), then every
    tenant's, suspended ones too. For work that must reach all of them, like catalog_sync."""
    template = [settings.TENANT_BASE_SCHEMA] if schema_exists(settings.TENANT_BASE_SCHEMA) else []
    tenants = Tenant.objects.exclude(schema_name="public").order_by("schema_name")
    return template + list(tenants.values_list("schema_name", flat=True))


def tenant_has_data() -> bool:
    """True once any tenant other than the public one exists: bootstrap must not seed then."""
    return Tenant.objects.exclude(schema_name="public").exists()


def schemas_value(schemas: list[str], *, table: str, select: str) -> dict[str, Any]:
    """`select` (one value, reading `table` of the schema named `{schema}`) in every schema, in
    one statement however many schemas there are; None for a schema without that table.

    Per-schema queries cost a round trip each, seconds at a few hundred tenants.
    """
    with connection.cursor() as cursor:
        cursor.execute(HAVING_TABLE_SQL, [table, schemas])
        having = [row[0] for row in cursor.fetchall()]
        values = dict.fromkeys(schemas)
        if having:
            parts = [f"SELECT %s, ({select.format(schema=quote(schema))})" for schema in having]
            cursor.execute(" UNION ALL ".join(parts), having)
            values.update(cursor.fetchall())
    return values


HAVING_TABLE_SQL = """
    SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relname = %s AND c.relkind = 'r' AND n.nspname = ANY(%s)
"""


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


@cache  # the files change only with a deploy, which starts new processes
def migrations_on_disk() -> tuple[str, ...]:
    """Every migration the code holds, as "app.name" (read once per process: 0.25 s, which every
    hourly per-tenant schema check paid). django-tenants records every app's migrations in every
    schema (shared apps' as applied without running), so each schema must hold them all."""
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    return tuple(sorted(f"{app}.{name}" for app, name in graph.nodes))


def schemas_missing_migrations(schemas: list[str]) -> dict[str, list[str]]:
    """For each schema, the migrations it has not recorded (empty when it is current), read in
    one query across the schemas; a schema without django_migrations lacks them all."""
    expected = migrations_on_disk()
    recorded = schemas_value(
        schemas,
        table="django_migrations",
        select="SELECT array_agg(app || '.' || name) FROM {schema}.django_migrations",
    )
    missing = {}
    for schema, names in recorded.items():
        applied = set(names or ())
        missing[schema] = [name for name in expected if name not in applied]
    return missing


def schema_pending_migrations(schema_name: str) -> list[str]:
    """Migrations not yet applied in `schema_name` (empty when it is current): its own
    django_migrations table, never the public one."""
    return schemas_missing_migrations([schema_name])[schema_name]


def model_columns(model, alias: str) -> str:
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


# Every API request runs this lookup. Compiling it through the ORM (three models,
# select_related) costs more than the query itself, so the SQL is built once, from the
# models' own metadata, and the rows are turned into model instances with from_db().
KEY_SELECT_SQL = f"""
    SELECT {model_columns(ApiKey, "k")}, {model_columns(Tenant, "t")}, {model_columns(Plan, "p")}
    FROM public.tenants_apikey k
    JOIN public.tenants_tenant t ON t.id = k.tenant_id
    LEFT JOIN public.tenants_plan p ON p.id = t.plan_id
"""
KEY_LOOKUP_SQL = KEY_SELECT_SQL + "WHERE k.prefix = %s"
LEGACY_KEY_LOOKUP_SQL = KEY_SELECT_SQL + "WHERE k.legacy_digest = %s"


def model_instances(row: tuple, models: list) -> list:
    """Model instances from a row holding each model's `model_columns` in turn (None for a
    model whose columns are all NULL, as a LEFT JOIN leaves them)."""
    instances, start = [], 0
    for model in models:
        names = [field.attname for field in model._meta.concrete_fields]
        values = row[start : start + len(names)]
        instances.append(model.from_db("default", names, values) if values[0] is not None else None)
        start += len(names)
    return instances


def api_key_resolve(full_key: str) -> ApiKey | None:
    """The key record a presented key matches (revoked and expired ones included, so the
    caller can say why it is refused), with its tenant and plan, in one query. A key not in
    Pulse's format may be one taken over from the predecessor SaaS: found by its digest."""
    parts = key_split(full_key)
    if parts is None:
        return _key_fetch(LEGACY_KEY_LOOKUP_SQL, legacy_key_digest(full_key))
    prefix, secret = parts
    key = _key_fetch(KEY_LOOKUP_SQL, prefix)
    if key is None or not key_matches(salt=key.salt, secret_hash=key.secret_hash, secret=secret):
        return None
    return key


def _key_fetch(sql: str, value: str) -> ApiKey | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, [value])
        row = cursor.fetchone()
    if row is None:
        return None
    key, tenant, plan = model_instances(row, [ApiKey, Tenant, Plan])
    tenant.plan, key.tenant = plan, tenant
    return key


def usage_summary(tenant: Tenant, now: dt.datetime | None = None) -> dict:
    """This month's use and the limits it counts against, and the totals since sign-up (one query)."""
    now = now or timezone.now()
    this_month = Q(month=month_start(tenant, now))
    # Aggregate aliases may not shadow field names, hence the month_ prefix.
    summary = UsageMonth.objects.filter(tenant=tenant).aggregate(
        month_requests=Coalesce(Sum("requests", filter=this_month), 0),
        month_documents=Coalesce(Sum("documents", filter=this_month), 0),
        month_last_request_at=Max("last_request_at", filter=this_month),
        month_last_upload_at=Max("last_upload_at", filter=this_month),
        total_requests=Coalesce(Sum("requests"), 0),
        total_documents=Coalesce(Sum("documents"), 0),
    )
    return usage_figures(tenant=tenant, now=now, **summary)


def tenant_public_rows(tenant: Tenant) -> dict:
    """The public-schema rows that belong to one tenant (its row, plan, hosts, keys, usage), as
    plain values: what a one-tenant backup carries besides the tenant's schema."""
    return {
        "tenant": Tenant.objects.filter(pk=tenant.pk).values().get(),
        "plan": Plan.objects.filter(pk=tenant.plan_id).values().first(),
        "domains": list(tenant.domains.values()),
        "api_keys": list(ApiKey.objects.filter(tenant=tenant).values()),
        "usage_months": list(UsageMonth.objects.filter(tenant=tenant).values()),
    }


def slack_webhook_url_current() -> str:
    """The Slack webhook of the tenant whose schema the connection is on ("" when none). By
    schema name: under schema_context the connection's tenant is a stand-in without fields."""
    schema = tenant_connection().schema_name
    return Tenant.objects.filter(schema_name=schema).values_list("slack_webhook_url", flat=True).first() or ""
