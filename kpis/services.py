"""Writes about accounts and health. Views, API, admin, imports and tasks all come here; the
set-based loads of whole files write kpis' tables through kpis/bulk.py."""

import datetime as dt
import logging
from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from kpis import catalog
from kpis.backtest import activation_refusal, prove, report_card, rolling_origin_folds, rules_scored
from kpis.catalog.sync import SyncReport, entries_sync
from kpis.defaults import DEFAULT_OVERRIDE_RULES, DEFAULT_RENEWAL_PROBABILITIES
from kpis.insights import insights_generate
from kpis.models import (
    Account,
    AccountNote,
    BestPractice,
    HealthModel,
    HealthSnapshot,
    IndustryBenchmark,
    Insight,
    KpiDefinition,
    LearnedModel,
    ReportCard,
)
from kpis.projections import projections_compute
from kpis.recompute import health_recompute_chunks
from kpis.selectors import (
    health_model_current,
    health_model_newest,
    health_models_backfilling,
    model_thresholds,
    peer_industry_label,
    renewal_dataset,
    tenant_peer_aggregates,
)
from kpis.snapshots import snapshot_count
from peers.publication import TenantAggregate
from peers.services import CellKey, PublicationResult, peer_cells_publish
from tenants.limits import plan_limit_check
from tenants.selectors import slack_webhook_url_current, tenants_sharing_peer_benchmarks
from users.audit import SYSTEM, audit_record
from users.models import User

logger = logging.getLogger(__name__)

MODEL_SETTINGS = (
    "category_weights",
    "healthy_min",
    "critical_below",
    "missing_data_rule",
    "override_rules",
    "renewal_probabilities",
    "upload_mode",
    "master_file_name",
    "learned_model",
)
# What the catalog ships of a KPI; `active` is the tenant's own switch.
KPI_CATALOG_FIELDS = (
    "name",
    "category",
    "unit",
    "direction",
    "impact",
    "weight",
    "frequency",
    "worst",
    "critical",
    "healthy",
    "best",
    "min_value",
    "max_value",
    "description",
)

TRAINING_FAILED = (
    "Training failed unexpectedly; nothing changed. Train again; if it fails again, contact support."
)


class ActivationRefused(ValidationError):
    """The learned model may not become the live score; the message says why."""


@transaction.atomic
def account_upsert(*, external_id: str, name: str, revenue: Decimal | None = None, **fields) -> Account:
    """Create or update an account by its external id; a new one must fit the plan's account limit."""
    account = Account.objects.filter(external_id=external_id).first() or Account(external_id=external_id)
    if account._state.adding:
        plan_limit_check(what="accounts", model=Account)
    account.name = name
    if revenue is not None:
        account.revenue = revenue
    for field, value in fields.items():
        setattr(account, field, value)
    account.full_clean()
    account.save()
    return account


@transaction.atomic
def account_note_add(*, account: Account, body: str, author: str) -> AccountNote:
    """A CSM's note on the account's timeline; an empty note is refused rather than stored."""
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Write something in the note; an empty note is not kept."})
    note = AccountNote(account=account, body=body, author=author)
    note.full_clean()
    note.save()
    return note


def health_refresh(*, account_ids: list[int] | None = None, model: HealthModel | None = None) -> int:
    """Recompute health, insights and projections for the accounts (all when None) under the
    current version; under versions still backfilling too, since their backfill may have passed
    these accounts before their values changed."""
    model = model or health_model_current()
    newest_before = insight_newest_pk()
    written = health_accounts_refresh(model=model, account_ids=account_ids)
    _critical_insights_announce(newest_before)
    for backfilling in health_models_backfilling():  # insights come from the current version, above
        health_accounts_refresh(model=backfilling, account_ids=account_ids, with_insights=False)
    return written


def health_accounts_refresh(
    *, model: HealthModel, account_ids: list[int] | None, with_insights: bool = True
) -> int:
    """The accounts' snapshots under the version, then what follows from them: insights and
    projections, a chunk of accounts at a time, from the snapshots as just written. What one
    chunk of a backfill does; returns the snapshots written."""
    written = 0
    for chunk, history in health_recompute_chunks(model=model, account_ids=account_ids):
        if with_insights:
            insights_generate(model_version=model.version, account_ids=chunk, history=history)
        projections_compute(model=model, account_ids=chunk, history=history)
        written += snapshot_count(history)
    return written


def insight_newest_pk() -> int:
    """Where an evaluation starts: the insights above it are the ones it found."""
    return Insight.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def health_backfill_inline(*, model: HealthModel) -> int:
    """Every account under the version in this process, then the switch to it."""
    newest_before = insight_newest_pk()
    written = health_accounts_refresh(model=model, account_ids=None)
    health_backfill_finish(model=model, newest_insight_before=newest_before)
    return written


def health_backfill_finish(*, model: HealthModel, newest_insight_before: int) -> None:
    """The last step of a backfill, once every account's snapshots and projections are written:
    one Slack message about its new critical insights, readers switch to the version (they read
    snapshots and projections of the current version only, so never half of one), then its
    report card."""
    _critical_insights_announce(newest_insight_before)
    HealthModel.objects.filter(pk=model.pk).update(backfilling=False)
    report_card_compute(model_version=model.version)


def _critical_insights_announce(newest_before: int) -> None:
    """Queue one Slack message about this evaluation's new critical insights, if the workspace
    has a webhook."""
    from kpis.tasks import critical_insights_slack  # tasks import this module

    if not slack_webhook_url_current():
        return
    new = Insight.objects.filter(pk__gt=newest_before, severity=Insight.Severity.CRITICAL)
    ids = list(new.values_list("pk", flat=True))
    if ids:
        transaction.on_commit(lambda: critical_insights_slack.delay(ids))


@transaction.atomic
def health_model_update(*, created_by: str, actor: str = SYSTEM, **changes) -> HealthModel:
    """Save the model as a new version (old versions and their snapshots stay) and queue the
    backfill of every month of history under it once this transaction commits."""
    from kpis.tasks import health_backfill  # tasks import this module

    current = health_model_newest()  # a change made while another backfills builds on it
    unknown = set(changes) - set(MODEL_SETTINGS)
    if unknown:
        raise ValidationError(f"Unknown health model settings: {', '.join(sorted(unknown))}.")
    settings = {name: getattr(current, name) for name in MODEL_SETTINGS} | changes
    _validate_model_settings(settings)
    model = HealthModel.objects.create(
        version=current.version + 1, created_by=created_by, backfilling=True, **settings
    )
    transaction.on_commit(lambda: health_backfill.delay(model.version))
    audit_record(
        actor=actor,
        action="changed",
        target_type="health model",
        target=f"version {model.version}",
        detail={"why": created_by, **_changes_for_audit(changes)},
    )
    return model


def _changes_for_audit(changes: dict) -> dict:
    """The changed settings as the log stores them: a learned model by its id."""
    learned = changes.get("learned_model")
    return changes | {"learned_model": learned.pk} if learned else changes


def _validate_model_settings(settings: dict) -> None:
    weights = settings["category_weights"]
    if any(weight < 0 for weight in weights.values()) or not any(weight > 0 for weight in weights.values()):
        raise ValidationError("Category weights must be zero or more, and at least one above zero.")
    if not 0 < settings["critical_below"] < settings["healthy_min"] <= 100:
        raise ValidationError("Thresholds must satisfy 0 < critical < healthy ≤ 100.")
    if any(not 0 <= p <= 1 for p in settings["renewal_probabilities"].values()):
        raise ValidationError("Renewal probabilities must be between 0 and 1.")


@transaction.atomic
def kpi_definition_update(
    *, kpi: KpiDefinition, created_by: str, actor: str = SYSTEM, **fields
) -> KpiDefinition:
    """Change a KPI's range, weight or impact; scores change, so this starts a new health
    model version (history under the old one stays) and backfills under it."""
    _kpi_save(kpi, fields)
    health_model_update(created_by=f"{created_by} (KPI {kpi.key} changed)", actor=actor)
    return kpi


def _kpi_save(kpi: KpiDefinition, fields: dict) -> None:
    for name, value in fields.items():
        setattr(kpi, name, value)
    kpi.full_clean()
    kpi.save()


@transaction.atomic
def kpi_catalog_sync(*, shipped: catalog.KpiCatalog | None = None) -> SyncReport:
    """Bring this schema's KPIs, advice and benchmarks up to the shipped catalog, never
    overwriting a tenant's edits (kpis/catalog/sync.py has the rule), and give a schema
    without a health model version 1. A KPI update changes scores, so where there is history
    to rescore it starts a new health model version, as an edit in the portal does."""
    shipped = shipped or catalog.SHIPPED
    report = SyncReport()
    entries_sync(
        {kpi.key: {name: getattr(kpi, name) for name in KPI_CATALOG_FIELDS} for kpi in shipped.kpis},
        {kpi.key: kpi for kpi in KpiDefinition.objects.all()},
        read=lambda kpi: {name: getattr(kpi, name) for name in KPI_CATALOG_FIELDS},
        write=lambda key, kpi, values, fingerprint: _kpi_save(
            kpi or KpiDefinition(key=key), {**values, "catalog_fingerprint": fingerprint}
        ),
        label=lambda key: f"KPI {key}",
        report=report,
    )
    if report.updated and HealthSnapshot.objects.exists():
        health_model_update(created_by=f"Pulse catalog ({len(report.updated)} KPI(s) changed)")
    _reference_sync(shipped, report)
    if not HealthModel.objects.exists():
        HealthModel.objects.create(
            version=1,
            category_weights=dict(shipped.category_weights),
            override_rules=DEFAULT_OVERRIDE_RULES,
            renewal_probabilities=DEFAULT_RENEWAL_PROBABILITIES,
            created_by="Pulse defaults",
        )
        report.added.append("health model v1")
    return report


def _reference_sync(shipped: catalog.KpiCatalog, report: SyncReport) -> None:
    """Advice and benchmarks have no edit screen: they follow the catalog, found by what they
    are about (a KPI or a category, and a band; an industry and a KPI)."""
    kpis = {kpi.key: kpi for kpi in KpiDefinition.objects.all()}
    _rows_follow(
        {
            _practice_about(p.kpi.key if p.kpi else None, p.category, p.band): p
            for p in BestPractice.objects.select_related("kpi")
        },
        {
            _practice_about(p.kpi_key, p.category, p.band): {
                "category": p.category,
                "title": p.title,
                "advice": p.advice,
            }
            for p in shipped.best_practices
        },
        new=lambda about, values: BestPractice(kpi=kpis.get(about[0]), band=about[2], **values),
        report=report,
    )
    _rows_follow(
        {(b.industry, b.kpi.key): b for b in IndustryBenchmark.objects.select_related("kpi")},
        {
            (b.industry, b.kpi_key): {"p25": b.p25, "median": b.median, "p75": b.p75}
            for b in shipped.benchmarks
        },
        new=lambda about, values: IndustryBenchmark(industry=about[0], kpi=kpis[about[1]], **values),
        report=report,
    )


def _practice_about(kpi_key: str | None, category: str, band: str) -> tuple:
    """A KPI's advice is its KPI's whatever the category; a category's advice has no KPI."""
    return (kpi_key, None, band) if kpi_key else (None, category, band)


def _rows_follow(rows: dict, shipped: dict, *, new, report: SyncReport) -> None:
    """Add the missing rows (in one INSERT) and update those whose values differ."""
    missing = []
    for about, values in shipped.items():
        row, label = rows.get(about), "/".join(part for part in about if part)
        if row is None:
            missing.append(new(about, values))
            report.added.append(label)
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.save(update_fields=list(values))
            report.updated.append(label)
    if missing:
        type(missing[0]).objects.bulk_create(missing)


# --- report cards and the learned churn model ------------------------------------------------------


def report_card_compute(*, model_version: int | None = None) -> ReportCard:
    """Backtest a version's live score on the renewals (replacing its card): the rules on the
    rolling-origin folds, or, for a version that runs a learned model, the learned approach
    trained fold by fold on the same folds."""
    model = HealthModel.objects.get(version=model_version) if model_version else health_model_current()
    data, thresholds = renewal_dataset(model), model_thresholds(model)
    if model.learned_model_id:
        method, card = "learned", prove(data, thresholds).learned_card
    else:
        method, card = (
            "rules",
            report_card(data, rules_scored(data, thresholds), rolling_origin_folds(data), "rules"),
        )
    report, _ = ReportCard.objects.update_or_create(
        model_version=model.version, defaults={"method": method, "card": card}
    )
    return report


def report_card_refresh_later() -> None:
    """Queue the current version's report card (after renewal outcomes change, or on demand)."""
    from kpis.tasks import report_card_refresh  # tasks import this module

    version = health_model_current().version
    transaction.on_commit(lambda: report_card_refresh.delay(version))


@transaction.atomic
def learned_model_request(*, requested_by: str) -> LearnedModel:
    """Record a training and queue it for the worker once this transaction commits."""
    from kpis.tasks import learned_model_train_task  # tasks import this module

    learned = LearnedModel.objects.create(requested_by=requested_by)
    transaction.on_commit(lambda: learned_model_train_task.delay(str(learned.pk)))
    return learned


def learned_model_train(*, learned_model_id) -> LearnedModel:
    """Train on the renewals, backtest against the current rules on the same folds and keep the
    verdict. Claimed with a conditional update, so a second delivery of the task does nothing."""
    claimed = LearnedModel.objects.filter(pk=learned_model_id, status=LearnedModel.Status.QUEUED).update(
        status=LearnedModel.Status.TRAINING
    )
    if not claimed:
        return LearnedModel.objects.get(pk=learned_model_id)
    rules = health_model_current()
    try:
        proof = prove(renewal_dataset(rules), model_thresholds(rules))
    except Exception:
        logger.exception("Training learned model %s failed", learned_model_id)
        return _learned_finish(learned_model_id, status=LearnedModel.Status.FAILED, verdict=TRAINING_FAILED)
    return _learned_finish(
        learned_model_id,
        status=LearnedModel.Status.READY,
        compared_with_version=rules.version,
        parameters=proof.model.to_json() if proof.model else {},
        report_card=proof.learned_card,
        rules_report_card=proof.rules_card,
        proven=proof.proven,
        verdict=proof.verdict,
    )


def _learned_finish(learned_model_id, **fields) -> LearnedModel:
    LearnedModel.objects.filter(pk=learned_model_id).update(finished_at=timezone.now(), **fields)
    return LearnedModel.objects.get(pk=learned_model_id)


@transaction.atomic
def learned_model_activate(
    *, learned_model: LearnedModel, created_by: str, actor: str = SYSTEM
) -> HealthModel:
    """Make the learned model the live score: a new health model version, backfilled as usual.
    Refused (ActivationRefused, saying why) unless it is proven and beats the current rules on
    AUC and critical-band lift on the same folds."""
    current = health_model_current()
    refusal = _activation_refusal(learned_model, current)
    if refusal:
        raise ActivationRefused(refusal, code="activation_refused")
    return health_model_update(
        created_by=f"{created_by} (learned churn model)", actor=actor, learned_model=learned_model
    )


def _activation_refusal(learned: LearnedModel, current: HealthModel) -> str | None:
    if learned.status != LearnedModel.Status.READY:
        return f"This learned model is {learned.get_status_display().lower()}, not ready; wait for its training to finish."
    if current.learned_model_id == learned.pk:
        return "This learned model is already the live score."
    if learned.compared_with_version != current.version:
        return (
            f"It was measured against health model version {learned.compared_with_version}, and the live "
            f"version is now {current.version}; train again to compare it with the current rules."
        )
    return activation_refusal(
        proven=learned.proven,
        verdict=learned.verdict,
        learned=learned.report_card,
        rules=learned.rules_report_card,
    )


def health_rules_restore(*, created_by: str, actor: str = SYSTEM) -> HealthModel:
    """Go back to the rules as the live score (a new version, like any change)."""
    return health_model_update(
        created_by=f"{created_by} (back to the rules)", actor=actor, learned_model=None
    )


# --- Insight triage ------------------------------------------------------------------------------


def insight_acknowledge(*, insight: Insight, by: str) -> Insight:
    """Seen and handled: it leaves the open lists; it stays in the history."""
    insight.acknowledged_at = timezone.now()
    insight.acknowledged_by = by
    insight.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return insight


def insight_snooze(*, insight: Insight, until: dt.date | None, today: dt.date | None = None) -> Insight:
    """Out of the open lists until `until`, when it comes back by itself; None ends a snooze."""
    today = today or timezone.localdate()
    if until is not None and until <= today:
        example = today + dt.timedelta(days=7)
        message = f"Snooze until a date after today ({today.isoformat()}), e.g. {example.isoformat()}."
        raise ValidationError({"snoozed_until": message})
    insight.snoozed_until = until
    insight.save(update_fields=["snoozed_until"])
    return insight


def insight_reopen(*, insight: Insight) -> Insight:
    """Back in the open lists: neither acknowledged nor snoozed."""
    insight.acknowledged_at, insight.acknowledged_by, insight.snoozed_until = None, "", None
    insight.save(update_fields=["acknowledged_at", "acknowledged_by", "snoozed_until"])
    return insight


def insight_assign(*, insight: Insight, assignee) -> Insight:
    """A teammate owns it (None: nobody). Only an active user of this workspace can."""
    if assignee is not None and not assignee.is_active:
        raise ValidationError(
            {"assigned_to": f"{assignee.username} is deactivated; assign an active teammate."}
        )
    newly_theirs = assignee is not None and assignee.username != insight.assigned_to
    insight.assigned_to = assignee.username if assignee else ""
    insight.save(update_fields=["assigned_to"])
    if newly_theirs:
        from kpis.tasks import insight_assigned_notify  # tasks import this module

        transaction.on_commit(lambda: insight_assigned_notify.delay(insight.pk, insight.assigned_to))
    return insight


@transaction.atomic
def insight_triage_apply(*, insight: Insight, changes: dict, by: str) -> Insight:
    """The triage changes one request asks for (status, snoozed_until, assigned_to), all or none."""
    if changes.get("status") == "acknowledged":
        insight_acknowledge(insight=insight, by=by)
    elif changes.get("status") == "open":
        insight_reopen(insight=insight)
    if "snoozed_until" in changes:
        insight_snooze(insight=insight, until=changes["snoozed_until"])
    if "assigned_to" in changes:
        insight_assign(insight=insight, assignee=_teammate(changes["assigned_to"]))
    return insight


def _teammate(username: str | None):
    if not username:
        return None
    teammate = User.objects.filter(username=username).first()
    if teammate is None:
        raise ValidationError(
            {"assigned_to": f"No teammate named “{username}” in this workspace; give a username."}
        )
    return teammate


# --- Peer benchmarks -------------------------------------------------------------------------
PEER_MONTHS = 4  # the current month and the three before it are re-published every night


def peer_benchmarks_refresh(*, today: dt.date | None = None) -> PublicationResult:
    """The nightly publication: visit each opted-in tenant's schema in turn, take its
    aggregates per cell (computed there by PostgreSQL), pool them in memory and publish the
    cells that pass the thresholds. Month by month, so memory holds one month of aggregates."""
    months = month_starts_back(today or timezone.localdate(), PEER_MONTHS)
    tenants = list(tenants_sharing_peer_benchmarks().values_list("pk", "schema_name"))
    bounds = {kpi.key: (kpi.min_value, kpi.max_value) for kpi in catalog.DEFAULT_KPIS}
    published = withheld = 0
    for month in months:
        contributions = _month_contributions(tenants, month)
        result = peer_cells_publish(contributions=contributions, months=[month], bounds=bounds)
        published, withheld = published + result.published, withheld + result.withheld
    return PublicationResult(published=published, withheld=withheld)


def _month_contributions(tenants: list[tuple[int, str]], month: dt.date) -> dict:
    contributions: dict[CellKey, dict[int, TenantAggregate]] = defaultdict(dict)
    for tenant_id, schema_name in tenants:
        with schema_context(schema_name):
            aggregates = tenant_peer_aggregates(month)
        for (industry_key, kpi_key), aggregate in aggregates.items():
            cell = CellKey(industry_key, peer_industry_label(industry_key), kpi_key, month)
            contributions[cell][tenant_id] = aggregate
    return contributions


def month_starts_back(today: dt.date, months: int) -> list[dt.date]:
    """The first days of `today`'s month and the `months - 1` before it, oldest first."""
    current = today.year * 12 + today.month - 1
    return [dt.date(m // 12, m % 12 + 1, 1) for m in range(current - months + 1, current + 1)]
