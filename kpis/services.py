"""Writes about accounts and health. Views, API, admin, imports and tasks all come here."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from kpis.insights import insights_generate
from kpis.models import Account, HealthModel, KpiDefinition
from kpis.projections import projections_compute
from kpis.recompute import health_recompute
from kpis.selectors import health_model_current

MODEL_SETTINGS = (
    "category_weights", "healthy_min", "critical_below", "missing_data_rule", "override_rules",
    "renewal_probabilities", "upload_mode", "master_file_name",
)  # fmt: skip


@transaction.atomic
def account_upsert(*, external_id: str, name: str, revenue: Decimal | None = None, **fields) -> Account:
    """Create or update an account by its external id."""
    account = Account.objects.filter(external_id=external_id).first() or Account(external_id=external_id)
    account.name = name
    if revenue is not None:
        account.revenue = revenue
    for field, value in fields.items():
        setattr(account, field, value)
    account.full_clean()
    account.save()
    return account


def health_refresh(*, account_ids: list[int] | None = None, model: HealthModel | None = None) -> int:
    """Recompute health, insights and projections for the accounts (all when None)."""
    model = model or health_model_current()
    written = health_recompute(model_version=model.version, account_ids=account_ids)
    insights_generate(model_version=model.version, account_ids=account_ids)
    projections_compute(model=model, account_ids=account_ids)
    return written


@transaction.atomic
def health_model_update(*, created_by: str, **changes) -> HealthModel:
    """Save the model as a new version (old versions and their snapshots stay) and queue the
    backfill of every month of history under it once this transaction commits."""
    from kpis.tasks import health_backfill  # tasks import this module

    current = health_model_current()
    unknown = set(changes) - set(MODEL_SETTINGS)
    if unknown:
        raise ValidationError(f"Unknown health model settings: {', '.join(sorted(unknown))}.")
    settings = {name: getattr(current, name) for name in MODEL_SETTINGS} | changes
    _validate_model_settings(settings)
    model = HealthModel.objects.create(version=current.version + 1, created_by=created_by, **settings)
    transaction.on_commit(lambda: health_backfill.delay(model.version))
    return model


def _validate_model_settings(settings: dict) -> None:
    weights = settings["category_weights"]
    if any(weight < 0 for weight in weights.values()) or not any(weight > 0 for weight in weights.values()):
        raise ValidationError("Category weights must be zero or more, and at least one above zero.")
    if not 0 < settings["critical_below"] < settings["healthy_min"] <= 100:
        raise ValidationError("Thresholds must satisfy 0 < critical < healthy ≤ 100.")
    if any(not 0 <= p <= 1 for p in settings["renewal_probabilities"].values()):
        raise ValidationError("Renewal probabilities must be between 0 and 1.")


@transaction.atomic
def kpi_definition_update(*, kpi: KpiDefinition, created_by: str, **fields) -> KpiDefinition:
    """Change a KPI's range, weight or impact; scores change, so this starts a new health
    model version (history under the old one stays) and backfills under it."""
    for name, value in fields.items():
        setattr(kpi, name, value)
    kpi.full_clean()
    kpi.save()
    health_model_update(created_by=f"{created_by} (KPI {kpi.key} changed)")
    return kpi
