"""Reads of the published store. Callers decide who may see it (kpis.selectors gates on the
tenant's opt-in)."""

from django.db.models import QuerySet

from peers.models import PeerCell


def peer_cells_latest(*, industry_key: str, kpi_keys: list[str] | None = None) -> dict[str, PeerCell]:
    """{kpi key: its latest published cell} for one industry key (or ALL_INDUSTRIES)."""
    cells: QuerySet[PeerCell] = PeerCell.objects.filter(industry_key=industry_key)
    if kpi_keys is not None:
        cells = cells.filter(kpi_key__in=kpi_keys)
    cells = cells.order_by("kpi_key", "-month").distinct("kpi_key")
    return {cell.kpi_key: cell for cell in cells}


def peer_industries() -> list[tuple[str, str]]:
    """(key, label) of the industries with at least one published cell."""
    return list(PeerCell.objects.order_by("industry_key").values_list("industry_key", "industry").distinct())
