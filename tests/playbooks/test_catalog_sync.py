"""catalog_sync: a catalog change reaches the template schema and every tenant, updates what a
tenant has not edited, keeps what it has, and never reaches across schemas."""

import importlib
import io
import json
from dataclasses import replace

import pytest
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context

from kpis import catalog as kpi_catalog
from kpis.models import HealthModel, KpiDefinition
from playbooks import catalog as playbook_catalog
from playbooks import services
from playbooks.models import Playbook, Trigger
from playbooks.services import catalog_sync, trigger_create, trigger_update
from tests.conftest import make_tenant, signed_in_client
from tests.playbooks.test_triggers import playbook_form

TEMPLATE = "tenant_base"
NEW_KPI = replace(
    kpi_catalog.SHIPPED.kpis[0],
    key="time_to_value",
    name="Time to value",
    description="Days from signature until the customer's first agreed outcome is live.",
)


def kpis_shipped(*kpis, drop: str = "") -> kpi_catalog.KpiCatalog:
    """The KPI catalog as a later release ships it: these KPIs changed or added (by key)."""
    changed = {kpi.key: kpi for kpi in kpis}
    kept = [changed.pop(kpi.key, kpi) for kpi in kpi_catalog.SHIPPED.kpis if kpi.key != drop]
    return replace(kpi_catalog.SHIPPED, kpis=(*kept, *changed.values()))


def playbooks_shipped(*playbooks, drop: str = "") -> playbook_catalog.PlaybookCatalog:
    changed = {playbook.key: playbook for playbook in playbooks}
    kept = [changed.pop(p.key, p) for p in playbook_catalog.SHIPPED.playbooks if p.key != drop]
    return replace(playbook_catalog.SHIPPED, playbooks=(*kept, *changed.values()))


def nps(**changes):
    return replace(kpi_catalog.kpis_by_key()["nps"], **changes)


def voc_sprint(**changes):
    return replace(playbook_catalog.playbooks_by_key()["voc_sprint"], **changes)


def with_trigger(playbook, key: str, **changes):
    triggers = tuple(replace(t, **changes) if t.key == key else t for t in playbook.triggers)
    return replace(playbook, triggers=triggers)


@pytest.fixture
def release(monkeypatch):
    """Ship other catalogs, as a deploy of a new release does."""

    def ship(kpis=None, playbooks=None):
        if kpis:
            monkeypatch.setattr(kpi_catalog, "SHIPPED", kpis)
        if playbooks:
            monkeypatch.setattr(playbook_catalog, "SHIPPED", playbooks)

    return ship


def sync(*schemas: str) -> str:
    out = io.StringIO()
    call_command("catalog_sync", *(f"--schema={schema}" for schema in schemas), stdout=out)
    return out.getvalue()


def kpi(schema: str, key: str) -> KpiDefinition | None:
    with schema_context(schema):
        return KpiDefinition.objects.filter(key=key).first()


def test_a_new_kpi_reaches_every_tenant_the_template_and_so_tenants_registered_later(alice, release):
    release(kpis=kpis_shipped(NEW_KPI))

    out = sync()

    assert out.splitlines() == [
        f"{TEMPLATE}: 1 added, 0 updated",
        "alice: 1 added, 0 updated",
    ]
    assert kpi(TEMPLATE, "time_to_value").name == "Time to value"
    assert kpi("alice", "time_to_value").name == "Time to value"
    make_tenant("bob")  # cloned from the template
    assert kpi("bob", "time_to_value").description == NEW_KPI.description
    with schema_context("bob"):
        assert KpiDefinition.objects.count() == 26


def test_entries_the_tenant_has_not_edited_follow_the_catalog(alice, release):
    with schema_context("alice"):
        trigger = Trigger.objects.get(playbook__key="voc_sprint", catalog_key="nps_below")
        trigger_update(trigger=trigger, enabled=False)  # a switch, not an edit
        Trigger.objects.filter(pk=trigger.pk).update(times_triggered=3)
    extra_step = replace(voc_sprint().steps[-1], title="Share the results with the team")
    release(
        kpis=kpis_shipped(nps(description="Promoters minus detractors.", critical=-10.0)),
        playbooks=playbooks_shipped(
            with_trigger(
                voc_sprint(purpose="A shorter sprint.", steps=(*voc_sprint().steps, extra_step)),
                "nps_below",
                cooldown_days=100,
            )
        ),
    )

    report = catalog_sync(schema_name="alice")

    assert report.updated == ["KPI nps", "playbook voc_sprint", "trigger nps_below of playbook voc_sprint"]
    assert report.added == [] and report.kept == []
    updated = kpi("alice", "nps")
    assert (updated.description, updated.critical, updated.active) == (
        "Promoters minus detractors.",
        -10,
        True,
    )
    with schema_context("alice"):
        playbook = Playbook.objects.get(key="voc_sprint")
        trigger.refresh_from_db()
        assert playbook.purpose == "A shorter sprint."
        assert list(playbook.steps.values_list("title", flat=True))[-1] == "Share the results with the team"
        assert playbook.steps.count() == 9
    assert (trigger.cooldown_days, trigger.enabled, trigger.times_triggered) == (100, False, 3)


def test_a_kpi_range_edited_in_the_portal_is_kept(alice, release):
    edited = {
        "weight": 1.5,
        "impact": "high",
        "worst": -40,
        "critical": 10,
        "healthy": 40,
        "best": 80,
        "active": "on",
    }
    assert signed_in_client("alice").post("/settings/health/kpis/nps/", edited).status_code == 302
    release(kpis=kpis_shipped(nps(description="Promoters minus detractors.", healthy=35.0)))

    out = sync()

    assert out.splitlines() == [
        f"{TEMPLATE}: 0 added, 1 updated",
        "alice: 0 added, 0 updated, kept the tenant's edits to KPI nps",
    ]
    kept = kpi("alice", "nps")
    assert (kept.worst, kept.critical, kept.healthy, kept.best) == (-40, 10, 40, 80)
    assert kept.description == kpi_catalog.kpis_by_key()["nps"].description
    assert kpi(TEMPLATE, "nps").healthy == 35  # where nobody edited it, the catalog's change lands


def test_a_playbook_text_edited_in_the_admin_is_kept_and_its_triggers_still_follow(alice, release):
    with schema_context("alice"):
        playbook = Playbook.objects.get(key="voc_sprint")
    url = f"/admin/playbooks/playbook/{playbook.pk}/change/"
    saved = signed_in_client("alice").post(url, playbook_form(playbook, purpose="Our own way of running it."))
    assert saved.status_code == 302
    release(
        playbooks=playbooks_shipped(
            with_trigger(voc_sprint(purpose="A shorter sprint."), "csat_below", cooldown_days=60)
        )
    )

    report = catalog_sync(schema_name="alice")

    assert report.kept == ["playbook voc_sprint"]
    assert report.updated == ["trigger csat_below of playbook voc_sprint"]
    with schema_context("alice"):
        playbook.refresh_from_db()
        assert playbook.purpose == "Our own way of running it."
        assert Trigger.objects.get(playbook=playbook, catalog_key="csat_below").cooldown_days == 60


def test_a_trigger_edited_by_the_tenant_is_kept(alice, release):
    with schema_context("alice"):
        trigger = Trigger.objects.get(playbook__key="voc_sprint", catalog_key="nps_below")
        trigger_update(trigger=trigger, cooldown_days=14)
    release(playbooks=playbooks_shipped(with_trigger(voc_sprint(), "nps_below", cooldown_days=100)))

    report = catalog_sync(schema_name="alice")

    assert report.kept == ["trigger nps_below of playbook voc_sprint"]
    with schema_context("alice"):
        trigger.refresh_from_db()
    assert trigger.cooldown_days == 14


def test_a_second_run_changes_nothing_and_says_so(alice, release):
    release(
        kpis=kpis_shipped(NEW_KPI, nps(critical=-10.0)),
        playbooks=playbooks_shipped(voc_sprint(purpose="A shorter sprint.")),
    )
    sync()
    before = table_rows("alice") | table_rows(TEMPLATE)

    out = sync()

    assert out.splitlines() == [
        f"{TEMPLATE}: up to date, nothing changed",
        "alice: up to date, nothing changed",
    ]
    assert table_rows("alice") | table_rows(TEMPLATE) == before


def test_a_tenant_just_registered_is_already_up_to_date(alice):
    assert sync("alice") == "alice: up to date, nothing changed\n"


def test_the_tenants_own_rows_and_entries_dropped_from_the_catalog_are_left_alone(alice, release):
    with schema_context("alice"):
        playbook = Playbook.objects.get(key="voc_sprint")
        own = trigger_create(playbook=playbook, condition={"type": "kpi_below", "kpi": "nps", "value": -20})
    dropped_trigger = replace(voc_sprint(), triggers=voc_sprint().triggers[:1])
    release(
        kpis=kpis_shipped(drop="discount_rate"),
        playbooks=playbooks_shipped(dropped_trigger, drop="adoption_rescue"),
    )
    before = table_rows("alice")

    assert sync("alice") == "alice: up to date, nothing changed\n"

    assert table_rows("alice") == before
    with schema_context("alice"):
        own.refresh_from_db()
        assert (own.catalog_key, own.condition["value"]) == ("", -20)
        assert Trigger.objects.filter(catalog_key="csat_below").exists()
        assert Playbook.objects.filter(key="adoption_rescue").exists()
        assert KpiDefinition.objects.filter(key="discount_rate").exists()


def test_a_failure_in_one_schema_changes_nothing_there_and_the_others_are_synced(
    alice, bob, release, monkeypatch
):
    release(kpis=kpis_shipped(NEW_KPI))
    playbooks_sync = services.playbook_catalog_sync

    def failing_in_bob(**kwargs):
        if connection.schema_name == "bob":
            raise RuntimeError("disk full")
        return playbooks_sync(**kwargs)

    monkeypatch.setattr(services, "playbook_catalog_sync", failing_in_bob)
    err = io.StringIO()

    with pytest.raises(CommandError, match="could not be synced into bob; the other schemas are synced"):
        call_command("catalog_sync", stdout=io.StringIO(), stderr=err)

    assert "bob: failed, nothing changed there: disk full" in err.getvalue()
    assert kpi("bob", "time_to_value") is None  # its KPI was added in the same, rolled-back transaction
    assert kpi("alice", "time_to_value") and kpi(TEMPLATE, "time_to_value")


def test_syncing_one_schema_touches_no_other(alice, bob, release):
    release(kpis=kpis_shipped(NEW_KPI))

    assert sync("bob") == "bob: 1 added, 0 updated\n"

    assert kpi("bob", "time_to_value")
    assert kpi("alice", "time_to_value") is None and kpi(TEMPLATE, "time_to_value") is None


def test_an_unknown_schema_is_refused_with_the_known_ones(alice):
    with pytest.raises(
        CommandError, match="No template or tenant schema named carol; give one of tenant_base, alice"
    ):
        sync("carol")


def test_a_kpi_change_rescores_history_under_a_new_health_model_version(portfolio, release):
    release(kpis=kpis_shipped(nps(healthy=35.0)))

    catalog_sync(schema_name="alice")
    catalog_sync(schema_name=TEMPLATE)

    with schema_context("alice"):
        model = HealthModel.objects.order_by("-version").first()
        assert (model.version, model.created_by) == (2, "Pulse catalog (1 KPI(s) changed)")
    with schema_context(TEMPLATE):  # no history there to rescore
        assert HealthModel.objects.get().version == 1


def test_rows_seeded_before_fingerprints_join_the_sync_only_while_unedited(alice, release):
    with schema_context("alice"):
        KpiDefinition.objects.update(catalog_fingerprint="")
        KpiDefinition.objects.filter(key="csat").update(description="Our own wording.")
    release(kpis=kpis_shipped(nps(healthy=35.0), replace(kpi_catalog.kpis_by_key()["csat"], healthy=80.0)))

    assert catalog_sync(schema_name="alice").kept == ["KPI nps", "KPI csat"]  # no proof they are unedited

    release(kpis=kpi_catalog.catalog_load())
    catalog_sync(schema_name="alice")  # nps still holds the shipped values: it joins
    with schema_context("alice"):
        assert KpiDefinition.objects.get(key="nps").catalog_fingerprint
        assert KpiDefinition.objects.get(key="csat").catalog_fingerprint == ""


def test_the_migration_names_the_triggers_seeded_before_catalog_keys(alice):
    migration = importlib.import_module("playbooks.migrations.0004_catalog_fingerprints")
    with schema_context("alice"):
        playbook = Playbook.objects.get(key="voc_sprint")
        own = trigger_create(playbook=playbook, condition={"type": "kpi_below", "kpi": "nps", "value": -20})
        Trigger.objects.update(catalog_key="")

        migration.name_seeded_triggers(django_apps, None)

        keys = dict(Trigger.objects.filter(playbook=playbook).values_list("pk", "catalog_key"))
        assert sorted(keys.values()) == ["", "csat_below", "nps_below"] and keys[own.pk] == ""
        assert Trigger.objects.exclude(catalog_key="").count() == 11


def table_rows(schema: str) -> dict[str, list]:
    """Every row of the catalog tables in `schema`, to compare before and after."""
    tables = [
        "kpis_kpidefinition",
        "kpis_bestpractice",
        "kpis_industrybenchmark",
        "kpis_healthmodel",
        "playbooks_playbook",
        "playbooks_playbookstep",
        "playbooks_trigger",
    ]
    with connection.cursor() as cursor:
        rows = {}
        for table in tables:
            cursor.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY 1')
            rows[f"{schema}.{table}"] = json.loads(json.dumps(cursor.fetchall(), default=str))
    return rows
