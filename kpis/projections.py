"""Revenue projections from health: expected renewal revenue = ARR × the renewal
probability of the account's band (configurable per health model), or, when a proven learned
churn model is the live score, ARR × the account's own calibrated renewal probability."""

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal

from django.db import transaction

from kpis.models import Account, FinancialProjection, HealthModel, HealthSnapshot
from kpis.snapshots import Snapshot

# Share of ARR a healthy account with an expansion signal could add at renewal.
EXPANSION_RATE = Decimal("0.15")


@transaction.atomic
def projections_compute(
    *,
    model: HealthModel,
    account_ids: list[int] | None = None,
    history: Mapping[int, Sequence[Snapshot]] | None = None,
) -> int:
    """One projection per account from its latest snapshot under `model` (replaced). The
    snapshots are read unless `history` (account id → snapshots in period order, as
    kpis.recompute just wrote them) is given."""
    accounts = Account.objects.all() if account_ids is None else Account.objects.filter(pk__in=account_ids)
    if history is None:
        latest = _latest_snapshots(model.version, accounts)
    else:
        latest = {account_id: snapshots[-1] for account_id, snapshots in history.items() if snapshots}
    expanding = set(accounts.filter(insights__rule="expansion_signal").values_list("pk", flat=True))
    rows = [
        _projection(account, latest[account.pk], model, account.pk in expanding)
        for account in accounts
        if account.pk in latest
    ]
    FinancialProjection.objects.filter(model_version=model.version, account__in=accounts).delete()
    FinancialProjection.objects.bulk_create(rows)
    return len(rows)


def _latest_snapshots(version: int, accounts) -> dict[int, Snapshot]:
    snapshots = (
        HealthSnapshot.objects.filter(model_version=version, account__in=accounts)
        .order_by("account_id", "-period")
        .distinct("account_id")
        .only("account_id", "period", "band", "score", "explanation")
    )
    return {snapshot.account_id: snapshot for snapshot in snapshots}


def _renewal_probability(snapshot: Snapshot, model: HealthModel) -> Decimal:
    churn = snapshot.explanation.get("churn_probability") if model.learned_model_id else None
    if churn is not None:
        return Decimal(str(round(1 - churn, 4)))
    return Decimal(str(model.renewal_probabilities.get(snapshot.band, 0.5)))


def _projection(account: Account, snapshot: Snapshot, model: HealthModel, expanding: bool):
    probability = _renewal_probability(snapshot, model)
    arr = account.revenue
    return FinancialProjection(
        account=account,
        model_version=model.version,
        period=snapshot.period,
        band=snapshot.band,
        renewal_probability=float(probability),
        expected_renewal_revenue=(arr * probability).quantize(Decimal("0.01")),
        revenue_at_risk=(arr * (1 - probability)).quantize(Decimal("0.01")),
        expansion_potential=(arr * EXPANSION_RATE).quantize(Decimal("0.01"))
        if expanding
        else Decimal("0.00"),
    )


def portfolio_forecast(
    projections: list[FinancialProjection], accounts: dict[int, Account], start: dt.date
) -> list[dict]:
    """Expected ARR for each of the next 12 months: an account counts in full until its
    renewal, then at its expected renewal revenue (plus expansion potential)."""
    months = [_add_months(start, offset) for offset in range(12)]
    forecast = []
    for month in months:
        total = Decimal("0")
        for projection in projections:
            account = accounts[projection.account_id]
            renewed = account.renewal_date is not None and account.renewal_date < month
            total += (
                (projection.expected_renewal_revenue + projection.expansion_potential)
                if renewed
                else account.revenue
            )
        forecast.append({"month": month, "expected_arr": total.quantize(Decimal("0.01"))})
    return forecast


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)
