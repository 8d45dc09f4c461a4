"""Renewal outcomes are data like any other: the same pipeline through every way in, idempotent by
account and renewal date, and a churned account keeps its history."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from ingest.models import Upload
from ingest.services import upload_process
from kpis.models import Account, KpiValue, RenewalOutcome
from tests.api.helpers import api, new_key
from tests.conftest import signed_in_client
from tests.ingest.conftest import KPI_HEADER, named
from tests.ingest.test_admin import confirm, preview
from tests.ingest.test_pipeline import counts, load

HEADER = "account,renewal_date,outcome,arr_before,arr_after\n"
RENEWALS = HEADER + (
    "ACC-1,2025-03-31,renewed,1000,1000\nACC-1,2026-03-31,churned,1000,\nACC-2,2026-06-30,expanded,500,650\n"
)


@pytest.fixture(autouse=True)
def accounts(alice):
    """Renewals name accounts that exist: a row naming an unknown one is rejected."""
    with schema_context("alice"):
        for external_id in ("ACC-1", "ACC-2"):
            Account.objects.create(external_id=external_id, name=f"Account {external_id}")


def test_renewals_load_and_the_same_file_again_changes_nothing(alice):
    results = [counts(load(alice, RENEWALS, "renewals")) for _ in range(2)]

    assert results == [(3, 0, 0, 0), (0, 0, 3, 0)]
    with schema_context("alice"):
        stored = RenewalOutcome.objects.order_by("account__external_id", "renewal_date")
        assert [(r.account.external_id, r.outcome, r.arr_after) for r in stored] == [
            ("ACC-1", "renewed", Decimal("1000.00")),
            ("ACC-1", "churned", None),
            ("ACC-2", "expanded", Decimal("650.00")),
        ]


def test_a_corrected_outcome_updates_the_renewal_of_that_date(alice):
    load(alice, RENEWALS, "renewals")
    upload = load(alice, HEADER + "ACC-2,2026-06-30,contracted,500,400\n", "renewals")

    assert counts(upload) == (0, 1, 0, 0)
    with schema_context("alice"):
        assert RenewalOutcome.objects.get(account__external_id="ACC-2").outcome == "contracted"


def test_a_churned_account_is_marked_churned_and_keeps_its_history(alice):
    load(alice, KPI_HEADER + "ACC-1,nps,2025-12,20\nACC-1,nps,2026-01,15\n", "kpis")
    upload = load(alice, RENEWALS, "renewals")

    assert any("churned" in note for note in upload.summary["notes"])
    with schema_context("alice"):
        account = Account.objects.get(external_id="ACC-1")
        assert account.status == Account.Status.CHURNED
        assert KpiValue.objects.filter(account=account).count() == 2
        assert account.snapshots.count() == 2
        assert account.renewals.count() == 2
        assert Account.objects.get(external_id="ACC-2").status == Account.Status.ACTIVE


def test_bad_rows_say_what_is_wrong_and_the_good_rows_load(alice):
    content = HEADER + (
        "ACC-1,2026-03-31,lost,1000,\n"  # unknown outcome
        "ACC-1,2099-01-31,renewed,1000,1000\n"  # not happened yet
        "ACC-1,2026-04-30,churned,1000,200\n"  # ARR left after a churn
        "ACC-1,2026-05-31,expanded,1000,900\n"  # an expansion that shrank
        "ACC-1,2026-06-30,renewed,,\n"  # no ARR before
        "ACC-3,2026-06-30,renewed,800,800\n"
    )
    upload = load(alice, content, "renewals", create_missing_accounts=True)  # ACC-3 is new

    assert counts(upload) == (1, 0, 0, 5)
    with schema_context("alice"):
        reasons = {error.line: error.reason for error in upload.errors.all()}
    assert "outcome must be one of renewed, churned, contracted or expanded" in reasons[2]
    assert "in the future" in reasons[3]
    assert "contradicts outcome churned" in reasons[4]
    assert "not an expansion" in reasons[5]
    assert "arr_before is required" in reasons[6]


def test_the_api_takes_a_renewals_file(alice, django_capture_on_commit_callbacks):
    client = api(new_key(alice))
    with django_capture_on_commit_callbacks():
        response = client.post(
            "/api/v1/uploads/", {"file": named(RENEWALS, "renewals.csv"), "kind": "renewals"}
        )

    assert response.status_code == 202
    with schema_context("alice"):
        upload = upload_process(upload_id=Upload.objects.get(public_id=response.json()["id"]).pk)
        assert (upload.kind, upload.inserted) == ("renewals", 3)


def test_the_portal_takes_a_renewals_file_and_offers_its_template(alice, django_capture_on_commit_callbacks):
    client = signed_in_client("alice")
    assert 'value="renewals"' in client.get("/data/").content.decode()
    header = client.get("/data/templates/renewals.csv").content.decode().splitlines()[0].split(",")
    assert set(header) == {"account", "renewal_date", "outcome", "arr_before", "arr_after"}

    with django_capture_on_commit_callbacks():
        response = client.post("/data/", {"kind": "renewals", "file": named(RENEWALS, "renewals.csv")})

    assert response.status_code == 302
    with schema_context("alice"):
        assert Upload.objects.get().kind == "renewals"


def test_the_admin_imports_renewals_through_the_pipeline(alice):
    client = signed_in_client("alice")

    previewed = preview(client, "kpis/renewaloutcome", RENEWALS, "renewals.csv")
    assert previewed.status_code == 200
    with schema_context("alice"):
        assert not RenewalOutcome.objects.exists()
    confirm(client, "kpis/renewaloutcome", previewed)

    with schema_context("alice"):
        assert RenewalOutcome.objects.count() == 3
        assert set(Upload.objects.values_list("via", "kind").distinct()) == {("admin", "renewals")}


def test_the_command_loads_renewals_and_fails_on_rejected_rows(alice, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    good, bad = tmp_path / "renewals.csv", tmp_path / "bad.csv"
    good.write_text(RENEWALS)
    bad.write_text(HEADER + "ACC-1,2026-03-31,lost,1000,\n")

    call_command("import_data", str(good), tenant="alice", kind="renewals")
    with pytest.raises(CommandError, match="1 row"):
        call_command("import_data", str(bad), tenant="alice", kind="renewals")

    with schema_context("alice"):
        assert RenewalOutcome.objects.filter(renewal_date=dt.date(2026, 3, 31)).get().outcome == "churned"
