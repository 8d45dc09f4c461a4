"""A KPI's reference range runs the way the KPI improves: the database holds the rule, and the
portal, admin and migration all answer it with a sentence."""

import importlib
from types import SimpleNamespace

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django_tenants.utils import schema_context

from kpis import catalog
from kpis.models import KpiDefinition
from kpis.services import KPI_CATALOG_FIELDS
from tests.conftest import signed_in_client

RANGE_MIGRATION = importlib.import_module("kpis.migrations.0007_kpidefinition_range_order")
REVERSED = {
    "weight": "1",
    "impact": "medium",
    "worst": "100",
    "critical": "50",
    "healthy": "30",
    "best": "0",
    "active": "on",
}


def test_every_shipped_kpi_range_runs_the_way_the_kpi_improves(db):  # the check asks PostgreSQL
    for kpi in catalog.SHIPPED.kpis:
        fields = {name: getattr(kpi, name) for name in ("direction", "worst", "critical", "healthy", "best")}
        KpiDefinition(key=kpi.key, **fields).validate_constraints()


def test_the_database_refuses_a_range_out_of_order(alice):
    with schema_context("alice"):
        with pytest.raises(IntegrityError, match="kpidefinition_range_rises"), transaction.atomic():
            KpiDefinition.objects.filter(key="nps").update(critical=F("best") + 1)
        assert KpiDefinition.objects.get(key="nps").critical < KpiDefinition.objects.get(key="nps").best


def test_the_portal_says_what_order_a_range_needs_and_changes_nothing(alice):
    with schema_context("alice"):
        before = KpiDefinition.objects.get(key="nps")
        assert before.direction == "higher"

    page = signed_in_client("alice").post("/settings/health/kpis/nps/", REVERSED).content.decode()

    assert "Higher is better here: worst &lt; critical &lt; healthy &lt; best." in page
    with schema_context("alice"):
        assert KpiDefinition.objects.get(key="nps").worst == before.worst


def test_the_admin_refuses_a_range_out_of_order_with_the_same_sentence(alice):
    with schema_context("alice"):
        kpi = KpiDefinition.objects.get(key="nps")
    form = {name: getattr(kpi, name) for name in ("key", *KPI_CATALOG_FIELDS)}
    form.update(direction="lower", active="on")  # the anchors still rise

    page = (
        signed_in_client("alice").post(f"/admin/kpis/kpidefinition/{kpi.pk}/change/", form).content.decode()
    )

    assert "Lower is better here: worst &gt; critical &gt; healthy &gt; best." in page
    with schema_context("alice"):
        assert KpiDefinition.objects.get(key="nps").direction == "higher"


def test_the_migration_names_ranges_out_of_order_and_rewrites_nothing(alice):
    """A schema whose data predates the constraint: the migration stops before adding it."""
    with schema_context("alice"):
        with connection.cursor() as cursor:  # undone with the test's transaction
            cursor.execute("ALTER TABLE kpis_kpidefinition DROP CONSTRAINT kpidefinition_range_rises")
        KpiDefinition.objects.filter(key="nps").update(critical=F("best") + 1)
        from django.apps import apps

        with pytest.raises(RuntimeError, match=r"Schema alice: the reference ranges of nps do not run"):
            RANGE_MIGRATION.refuse_ranges_out_of_order(apps, SimpleNamespace(connection=connection))
        kpi = KpiDefinition.objects.get(key="nps")
        assert kpi.critical == kpi.best + 1
