"""Upload formats a user can find (templates with examples, the KPI catalog, KPI names accepted)
and no phantom accounts (a row naming an unknown account is rejected unless asked otherwise)."""

import csv
import io

from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from ingest.formats import COLUMNS
from ingest.models import Upload
from ingest.services import upload_confirm, upload_process
from ingest.validation import SPECS
from kpis.models import Account, KpiDefinition, KpiValue
from tests.api.helpers import api, error_of, new_key
from tests.conftest import signed_in_client
from tests.ingest.conftest import KPI_HEADER, named
from tests.ingest.test_pipeline import counts, load


def add_accounts(*external_ids: str) -> None:
    with schema_context("alice"):
        for external_id in external_ids:
            Account.objects.create(external_id=external_id, name=f"Account {external_id}")


def catalog_names() -> list[tuple[str, str]]:
    with schema_context("alice"):
        return list(KpiDefinition.objects.filter(active=True).values_list("key", "name"))


# --- KPI names and keys ----------------------------------------------------------------------------


def test_a_file_naming_kpis_as_the_ui_shows_them_loads_every_row(alice):
    add_accounts("ACC-1")
    names = [name for _, name in catalog_names()]
    rows = "".join(f"ACC-1,{name},2026-0{month},1\n" for name in names for month in (1, 2))
    upload = load(alice, KPI_HEADER + rows, "kpis")

    assert counts(upload) == (2 * len(names), 0, 0, 0)


def test_names_and_keys_in_any_case_mean_the_same_kpi(alice):
    add_accounts("ACC-1")
    upload = load(alice, KPI_HEADER + "ACC-1,NET PROMOTER SCORE,2026-01,10\nACC-1,NPS,2026-02,20\n", "kpis")

    assert counts(upload) == (2, 0, 0, 0)
    with schema_context("alice"):
        assert set(KpiValue.objects.values_list("kpi__key", flat=True)) == {"nps"}


def test_an_unknown_kpi_suggests_the_one_it_looks_like_not_always_the_same(alice):
    add_accounts("ACC-1")
    upload = load(alice, KPI_HEADER + "ACC-1,Net Promotor Score,2026-01,10\nACC-1,csta,2026-01,80\n", "kpis")

    with schema_context("alice"):
        reasons = list(upload.errors.values_list("reason", flat=True))
    assert "did you mean 'Net Promoter Score' (key nps)?" in reasons[0]
    assert "(key csat)?" in reasons[1]


# --- confirm never offered for nothing -------------------------------------------------------------


def test_a_preview_with_no_valid_row_offers_no_confirm_and_refuses_one(alice):
    client = signed_in_client("alice")
    upload = load(alice, KPI_HEADER + "ACC-1,no_such_kpi,2026-01,1\n", "kpis", dry_run=True)

    page = client.get(f"/data/uploads/{upload.public_id}/").content.decode()
    assert "Confirm and load" not in page and "nothing to load" in page
    response = api(new_key(alice)).post(f"/api/v1/uploads/{upload.public_id}/confirm/")
    assert response.status_code == 400 and "nothing to load" in " ".join(
        error_of(response)["fields"]["status"]
    )


def test_after_confirm_the_status_never_says_preview_only(alice, django_capture_on_commit_callbacks):
    add_accounts("ACC-1")
    client = signed_in_client("alice")
    upload = load(alice, KPI_HEADER + "ACC-1,nps,2026-01,10\n", "kpis", dry_run=True)
    assert "Preview only" in client.get(f"/data/uploads/{upload.public_id}/").content.decode()

    with django_capture_on_commit_callbacks():
        client.post(f"/data/uploads/{upload.public_id}/confirm/")
    assert "Preview only" not in client.get(f"/data/uploads/{upload.public_id}/").content.decode()
    with schema_context("alice"):
        upload_process(upload_id=upload.pk)
    assert "Preview only" not in client.get(f"/data/uploads/{upload.public_id}/").content.decode()


# --- no phantom accounts ---------------------------------------------------------------------------


def test_a_row_naming_an_unknown_account_is_rejected_with_its_line(alice):
    add_accounts("ACC-1")
    upload = load(alice, KPI_HEADER + "ACC-1,nps,2026-01,10\nNC-999,nps,2026-01,10\n", "kpis")

    assert counts(upload) == (1, 0, 0, 1)
    with schema_context("alice"):
        assert list(upload.errors.values_list("line", "field", "value", "reason")) == [
            (
                3,
                "account",
                "NC-999",
                "unknown account NC-999; add it in an accounts file first or tick 'create missing accounts'",
            )
        ]
        assert not Account.objects.filter(external_id="NC-999").exists()


def test_an_account_is_found_by_its_name_too(alice):
    add_accounts("ACC-1")
    assert counts(load(alice, KPI_HEADER + "Account ACC-1,nps,2026-01,10\n", "kpis")) == (1, 0, 0, 0)


def test_asked_to_create_missing_accounts_a_preview_says_it_would_and_confirm_does(alice):
    upload = load(
        alice, KPI_HEADER + "NC-999,nps,2026-01,10\n", "kpis", dry_run=True, create_missing_accounts=True
    )

    assert upload.summary["notes"] == ["Confirming will create 1 account(s) named in the file: NC-999"]
    assert "Created" not in " ".join(upload.summary["notes"])
    with schema_context("alice"):
        assert not Account.objects.exists()
        upload_confirm(upload=upload, acting_role="admin")
        loaded = upload_process(upload_id=upload.pk)
        assert Account.objects.filter(external_id="NC-999").exists()
    assert loaded.summary["notes"] == ["Created 1 account(s) named in the file: NC-999"]


def test_the_portal_form_carries_the_create_missing_accounts_choice(
    alice, django_capture_on_commit_callbacks
):
    client = signed_in_client("alice")
    for ticked in ({}, {"create_missing_accounts": "on"}):
        with django_capture_on_commit_callbacks():
            client.post(
                "/data/",
                {"kind": "kpis", "file": named(KPI_HEADER + "NC-1,nps,2026-01,1\n", "k.csv"), **ticked},
            )
    with schema_context("alice"):
        assert list(Upload.objects.order_by("pk").values_list("create_missing_accounts", flat=True)) == [
            False,
            True,
        ]


def test_the_api_takes_create_missing_accounts(alice):
    client = api(new_key(alice))
    body = client.post(
        "/api/v1/uploads/",
        {
            "file": named(KPI_HEADER + "NC-1,nps,2026-01,1\n", "k.csv"),
            "kind": "kpis",
            "create_missing_accounts": "true",
        },
    ).json()
    assert body["create_missing_accounts"] is True
    refused = client.post(
        "/api/v1/uploads/",
        {"file": named(KPI_HEADER, "k.csv"), "kind": "kpis", "create_missing_accounts": "maybe"},
    )
    assert refused.status_code == 400 and "create_missing_accounts" in error_of(refused)["fields"]


def test_the_command_rejects_unknown_accounts_unless_told_to_create_them(alice, tmp_path):
    path = tmp_path / "kpis.csv"
    path.write_text(KPI_HEADER + "NC-999,nps,2026-01,10\n")

    try:
        call_command("import_data", str(path), tenant="alice", kind="kpis", stdout=io.StringIO())
    except CommandError as failed:
        assert "1 row(s) rejected" in str(failed)
    else:
        raise AssertionError("the command must fail on a rejected row")
    call_command(
        "import_data",
        str(path),
        tenant="alice",
        kind="kpis",
        create_missing_accounts=True,
        stdout=io.StringIO(),
    )
    with schema_context("alice"):
        assert Account.objects.filter(external_id="NC-999").exists()


# --- templates and the catalog -----------------------------------------------------------------------


def test_every_kind_has_a_legend_for_exactly_the_columns_it_reads():
    assert {kind: set(columns) for kind, columns in COLUMNS.items()} == {
        kind: set(spec.expected) for kind, spec in SPECS.items()
    }


def test_each_template_has_its_header_and_two_example_rows(alice):
    client = signed_in_client("alice")
    for kind in COLUMNS:
        rows = list(csv.reader(io.StringIO(client.get(f"/data/templates/{kind}.csv").content.decode())))
        assert rows[0] == list(COLUMNS[kind]) and len(rows) == 3, kind
        assert all(len(row) == len(rows[0]) for row in rows), kind


def test_the_kpi_templates_examples_use_a_key_and_a_name_and_load(alice):
    content = signed_in_client("alice").get("/data/templates/kpis.csv").content.decode()
    kpis = [row[1] for row in csv.reader(io.StringIO(content))][1:]
    keys, names = zip(*catalog_names(), strict=True)
    assert kpis[0] in keys and kpis[1] in names

    assert counts(load(alice, content, "kpis", create_missing_accounts=True)) == (2, 0, 0, 0)


def test_the_data_tab_lists_every_kpi_and_the_columns(alice):
    page = signed_in_client("alice").get("/data/").content.decode()
    for key, name in catalog_names():
        assert f"<code>{key}</code>" in page and name in page
    assert "create missing accounts" in page.lower() and "a KPI key or its display name" in page


def test_the_catalog_api_lists_every_kpi_with_name_unit_and_range(alice):
    body = api(new_key(alice, scope="read")).get("/api/v1/kpis/catalog/").json()
    nps = next(kpi for kpi in body["results"] if kpi["key"] == "nps")
    assert nps == {
        "key": "nps",
        "name": "Net Promoter Score",
        "category": "Sentiment/VoC",
        "unit": "score",
        "direction": "higher",
        "min_value": -100.0,
        "max_value": 100.0,
    }
    assert {kpi["key"] for kpi in body["results"]} == {key for key, _ in catalog_names()}


def test_the_catalog_api_shows_only_the_callers_own_kpis(alice, bob):
    with schema_context("bob"):
        KpiDefinition.objects.create(
            key="bobs_secret_kpi",
            name="Bob's secret",
            category="Support",
            worst=0,
            critical=1,
            healthy=2,
            best=3,
            min_value=0,
            max_value=10,
        )
    body = api(new_key(alice)).get("/api/v1/kpis/catalog/").json()
    assert "bobs_secret_kpi" not in {kpi["key"] for kpi in body["results"]}


def test_a_kpi_file_adding_no_account_loads_even_in_a_workspace_past_its_plan(alice):
    """The plan caps accounts; values for accounts already there add none, so they are no reason to refuse."""
    with schema_context("alice"):
        limit = alice.plan.max_accounts
        Account.objects.bulk_create(Account(external_id=f"A-{n}", name=f"A {n}") for n in range(limit + 1))
    upload = load(alice, KPI_HEADER + "A-0,nps,2026-01,10\n", "kpis")

    assert upload.status == Upload.Status.COMPLETED and counts(upload) == (1, 0, 0, 0)
    refused = load(alice, KPI_HEADER + "NEW-1,nps,2026-01,10\n", "kpis", create_missing_accounts=True)
    assert refused.status == Upload.Status.FAILED and "Nothing was loaded" in refused.message
