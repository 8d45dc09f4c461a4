"""Ingest slots: at most INGEST_SLOTS_PER_TENANT long imports (uploads, sales syncs) of one
tenant run at once, however many ingest processes there are, so one tenant's huge workbooks
cannot hold every ingest process while another tenant's file waits.

A slot is a PostgreSQL session-level advisory lock held by the database session of the process
doing the import. A process that dies without a goodbye loses its session and the slot with it,
so a crash cannot leak a slot. (A Redis counter with an expiry frees a dead holder's slot only
after a guess at how long the longest import takes; the lock needs no guess.)"""

import contextlib
import hashlib

from django.conf import settings
from django.db import connection

from tenants.connection import tenant_connection


@contextlib.contextmanager
def ingest_slot():
    """Hold one of the current tenant's slots for the block; yields False when all are taken."""
    key = _take()
    try:
        yield key is not None
    finally:
        if key is not None:
            _advisory("pg_advisory_unlock", key)


def _take() -> int | None:
    for index in range(settings.INGEST_SLOTS_PER_TENANT):
        key = _slot_key(tenant_connection().schema_name, index)
        if _advisory("pg_try_advisory_lock", key):
            return key
    return None


def _slot_key(schema: str, index: int) -> int:
    """64 bits per tenant and slot, in the one-key lock space (an upload's own lock is in the
    two-key space, which PostgreSQL keeps apart)."""
    digest = hashlib.blake2b(f"ingest-slot:{schema}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _advisory(function: str, key: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [key])
        return cursor.fetchone()[0]
