"""Ingest slots: how many long imports of one tenant may run at once. Each holder is its own
database session, as each worker process is; with real workers: tests/ingest/test_worker.py."""

import os
import subprocess
import sys
import threading
from contextlib import contextmanager

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from ingest.slots import ingest_slot
from tests.celery_worker import REPO


@contextmanager
def held_elsewhere(schema: str):
    """Another session (a worker process busy with an import) holds one of the tenant's slots."""
    entered, leave, held = threading.Event(), threading.Event(), []

    def hold():
        try:
            with schema_context(schema), ingest_slot() as got:
                held.append(got)
                entered.set()
                leave.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait(30)
    try:
        assert held == [True]
        yield
    finally:
        leave.set()
        holder.join()


def slot_free(schema: str) -> bool:
    with schema_context(schema), ingest_slot() as got:
        return got


@pytest.mark.django_db
def test_a_tenant_at_its_cap_gets_no_slot_and_other_tenants_are_not_counted(settings):
    settings.INGEST_SLOTS_PER_TENANT = 1
    with held_elsewhere("alice"):
        assert not slot_free("alice")
        assert slot_free("bob")
    assert slot_free("alice")  # given back when the holder is done


@pytest.mark.django_db
def test_the_cap_is_a_setting(settings):
    settings.INGEST_SLOTS_PER_TENANT = 2
    with held_elsewhere("alice"):
        assert slot_free("alice")
        with held_elsewhere("alice"):
            assert not slot_free("alice")


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_cap_that_is_not_a_positive_whole_number_stops_startup_with_a_message(value):
    environment = {**os.environ, "INGEST_SLOTS_PER_TENANT": value}
    command = [sys.executable, "-c", "import config.env"]
    started = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True)

    assert started.returncode != 0
    assert f"INGEST_SLOTS_PER_TENANT='{value}' is not a whole number of at least 1" in started.stderr
