"""Writes to the published store: one publication replaces the cells of the months it covers."""

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from peers.models import PeerCell
from peers.publication import PublishedCell, TenantAggregate, cell_publish


@dataclass(frozen=True)
class CellKey:
    industry_key: str
    industry: str
    kpi_key: str
    month: dt.date


@dataclass(frozen=True)
class PublicationResult:
    published: int
    withheld: int


def publication_seed(*, cell: CellKey, tenant_ids: Iterable[int]) -> int:
    """The noise seed of one publication of a cell: keyed by SECRET_KEY (nobody outside can
    replay the noise), and by the set of contributors (the same set re-draws the same noise,
    a different set fresh noise; see peers.publication)."""
    message = f"{cell.industry_key}|{cell.kpi_key}|{cell.month:%Y-%m}|{sorted(set(tenant_ids))}"
    digest = hmac.new(settings.SECRET_KEY.encode(), message.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")


@transaction.atomic
def peer_cells_publish(
    *,
    contributions: Mapping[CellKey, Mapping[int, TenantAggregate]],
    months: Iterable[dt.date],
    bounds: Mapping[str, tuple[float, float]],
) -> PublicationResult:
    """Publish every cell of `months` that passes the thresholds, and withdraw the cells of
    those months that no longer do (a tenant opted out, data went away). `contributions` maps
    a cell to {tenant id: that tenant's aggregate}; `bounds` each KPI's physical bounds. Only
    the published result is stored."""
    now = timezone.now()
    published = {}
    for cell, by_tenant in contributions.items():
        seed = publication_seed(cell=cell, tenant_ids=by_tenant)
        result = cell_publish(list(by_tenant.values()), seed, bounds=bounds[cell.kpi_key])
        if isinstance(result, PublishedCell):
            published[cell] = result
    PeerCell.objects.filter(month__in=list(months)).delete()
    PeerCell.objects.bulk_create(_row(cell, result, now) for cell, result in published.items())
    return PublicationResult(published=len(published), withheld=len(contributions) - len(published))


def _row(cell: CellKey, result: PublishedCell, now: dt.datetime) -> PeerCell:
    return PeerCell(
        industry_key=cell.industry_key,
        industry=cell.industry,
        kpi_key=cell.kpi_key,
        month=cell.month,
        companies=result.companies,
        accounts=result.accounts,
        p25=result.p25,
        median=result.median,
        p75=result.p75,
        step=result.step,
        published_at=now,
    )
