"""A health snapshot as kpis.recompute just wrote it, handed on to the insights and projections
of the same chunk so that they need not read it back."""

import datetime as dt
from typing import NamedTuple

from kpis.models import HealthSnapshot


class Written(NamedTuple):
    """A snapshot as it was stored (its explanation decoded from the stored JSON). Reads like the
    HealthSnapshot fields of those names."""

    account_id: int
    period: dt.date
    score: float
    band: str
    explanation: dict


History = dict[int, list[Written]]  # account id → its snapshots, in period order
Snapshot = HealthSnapshot | Written  # read back, or handed on by the recompute that wrote it


def snapshot_count(history: History) -> int:
    return sum(len(snapshots) for snapshots in history.values())
