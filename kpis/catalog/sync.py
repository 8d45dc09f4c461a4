"""The rule `manage.py catalog_sync` follows for every catalog entry, in one place.

A synced row stores the fingerprint of the shipped values it last received. On the next sync:
- no row for the entry: add it;
- the row holds the shipped values: nothing to do (a missing or stale fingerprint is recorded,
  so a row seeded before fingerprints existed joins the sync once it matches);
- the row's values still hash to its stored fingerprint, so nobody edited it, and the catalog
  changed: update it to the new shipped values;
- otherwise the tenant edited it (or made it under the same key): keep it as it is.

Rows the catalog does not ship (the tenant's own, or entries since dropped from the catalog)
are never looked at, so never changed nor deleted.
"""

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


def fingerprint(values: Mapping[str, Any]) -> str:
    """A hash of the values as a row stores them: 40 and 40.0 hash alike, as do a tuple and a list."""
    text = json.dumps(_canonical(values), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


@dataclass
class SyncReport:
    """What a sync did in one schema, by entry label ("KPI nps", "playbook voc_sprint")."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def __add__(self, other: "SyncReport") -> "SyncReport":
        return SyncReport(self.added + other.added, self.updated + other.updated, self.kept + other.kept)

    def summary(self) -> str:
        if not (self.added or self.updated or self.kept):
            return "up to date, nothing changed"
        line = f"{len(self.added)} added, {len(self.updated)} updated"
        return line + (f", kept the tenant's edits to {', '.join(self.kept)}" if self.kept else "")


# write(the entry's key, its row or None for a new one, the shipped values, their fingerprint)
Write = Callable[[str, Any, dict, str], Any]


def entries_sync(
    shipped: Mapping[str, dict],
    rows: Mapping[str, Any],
    *,
    read: Callable[[Any], dict],
    write: Write,
    label: Callable[[str], str],
    report: SyncReport,
) -> None:
    """Apply the rule to each shipped entry (by key) against the tenant's rows (by the same key).
    `read` gives a row's current values in the shape of the shipped ones."""
    for key, values in shipped.items():
        row, new = rows.get(key), fingerprint(values)
        if row is None:
            write(key, None, values, new)
            report.added.append(label(key))
            continue
        current = fingerprint(read(row))
        if current == new:
            if row.catalog_fingerprint != new:
                row.catalog_fingerprint = new
                row.save(update_fields=["catalog_fingerprint"])
        elif current == row.catalog_fingerprint:
            write(key, row, values, new)
            report.updated.append(label(key))
        else:
            report.kept.append(label(key))
