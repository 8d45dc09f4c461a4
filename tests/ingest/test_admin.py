"""The tenant admin: imports go through the upload pipeline, exports escape formulas, the sync
API key stays hidden, and one tenant's admin never reaches another's rows."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from ingest.crypto import source_api_key
from ingest.models import Alert, SalesRecord, SyncSource, Upload
from kpis.models import Account
from tenants.selectors import usage_summary
from tenants.services import tenant_change_plan
from tests.conftest import signed_in_client, tenant_member
from tests.ingest.conftest import named
from tests.kpis.factories import AccountFactory, KpiValueFactory
from tests.tenants.factories import PlanFactory
from users.models import User

ACCOUNTS = "external_id,name,revenue,industry,region,status,renewal_date,owner\n"
GOOD = ACCOUNTS + "A-1,Acme,1000,Retail,EU,active,2027-01-31,ann\nA-2,Beta,2000.50,,,onboarding,,\n"
FORMULAS = ["=HYPERLINK(1)", "@SUM(A1)", "+1+1", "-2+3", "\tTab", "\rReturn"]


def preview(client, model: str, content: str, name: str = "accounts.csv"):
    data = {"import_file": named(content, name), "format": "0", "resource": "0"}
    return client.post(f"/admin/{model}/import/", data)


def confirm(client, model: str, previewed):
    fields = re.findall(
        r'name="(import_file_name|original_file_name|format|resource)" value="([^"]*)"',
        previewed.content.decode(),
    )
    assert fields, "the preview offers no confirm form"
    return client.post(f"/admin/{model}/process_import/", dict(fields), follow=True)


def export(client, model: str) -> list[list[str]]:
    response = client.post(f"/admin/{model}/export/", {"format": "0", "resource": "0"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_an_import_previews_then_loads_through_the_pipeline(alice):
    client = signed_in_client("alice")

    previewed = preview(client, "kpis/account", GOOD)
    assert previewed.status_code == 200
    assert (
        "Preview, nothing written yet: 2 new, 0 updated, 0 unchanged, 0 rejected"
        in previewed.content.decode()
    )
    with schema_context("alice"):
        assert not Account.objects.exists()

    done = confirm(client, "kpis/account", previewed)
    assert done.redirect_chain[-1][0] == "/admin/kpis/account/"
    assert "Loaded: 2 new" in done.content.decode()
    with schema_context("alice"):
        assert Account.objects.get(external_id="A-2").revenue == Decimal("2000.50")
        uploads = Upload.objects.filter(
            via=Upload.Via.ADMIN, original_name="accounts.csv", uploaded_by="admin"
        )
        assert list(uploads.values_list("status", flat=True)) == ["completed"]  # the preview, confirmed
        assert Upload.objects.get(status="completed").stored_path.startswith("uploads/alice/")
    assert usage_summary(alice)["documents"] == 1  # one import, one document against the plan


def test_a_bad_row_shows_its_line_and_reason_and_the_good_rows_load_after_confirm(alice):
    client = signed_in_client("alice")
    content = GOOD + "A-3,Gamma,lots,,,,,\n"

    previewed = preview(client, "kpis/account", content)
    page = previewed.content.decode()
    assert "Line 4: revenue must be a number" in page
    assert "2 new, 0 updated, 0 unchanged, 1 rejected" in page

    confirm(client, "kpis/account", previewed)
    with schema_context("alice"):
        assert set(Account.objects.values_list("external_id", flat=True)) == {"A-1", "A-2"}


def test_a_refused_file_is_a_clear_message_and_cannot_be_confirmed(alice):
    client = signed_in_client("alice")

    previewed = preview(client, "kpis/account", "external_id,name,revnue\nA-1,Acme,5\n")
    page = previewed.content.decode()
    assert previewed.status_code == 200
    assert "Unknown column(s): revnue." in page and 'name="import_file_name"' not in page


def test_kpi_values_export_current_versions_and_import_back_unchanged(alice):
    with schema_context("alice"):
        account = AccountFactory(external_id="A-1", name="Acme")
        kwargs = {"account": account, "period": dt.date(2026, 9, 1)}
        KpiValueFactory(**kwargs, value=10, version=1, is_current=False)
        KpiValueFactory(**kwargs, value=-5, version=2, source="upload:7")
    client = signed_in_client("alice")

    rows = export(client, "kpis/kpivalue")
    assert rows[0] == ["account", "kpi", "period", "value", "version", "source"]
    assert rows[1:] == [["A-1", "nps", "2026-09", "-5.0", "2", "upload:7"]]

    exported = "\n".join(",".join(row) for row in rows) + "\n"
    previewed = preview(client, "kpis/kpivalue", exported, name="kpis.csv")
    assert "0 new, 0 updated, 1 unchanged, 0 rejected" in previewed.content.decode()


def test_exports_contain_the_data_and_escape_formulas(alice):
    with schema_context("alice"):
        for number, name in enumerate(FORMULAS):
            Account.objects.create(external_id=f"F-{number}", name=name, revenue=-1)
        SalesRecord.objects.create(
            account=Account.objects.get(external_id="F-0"),
            date=dt.date(2026, 10, 1),
            user_id="u1",
            product_name="=cmd|' /C calc'!A0",
            quantity=2,
            unit_price=Decimal("5.00"),
            total_amount=Decimal("10.00"),
        )
    client = signed_in_client("alice")

    accounts = export(client, "kpis/account")
    assert accounts[0][:3] == ["external_id", "name", "revenue"]
    assert sorted(row[1] for row in accounts[1:]) == sorted("'" + name for name in FORMULAS)
    assert {row[2] for row in accounts[1:]} == {"-1.00"}  # numbers are not text: no apostrophe

    sales = export(client, "ingest/salesrecord")
    assert sales[1] == ["2026-10-01", "u1", "'=cmd|' /C calc'!A0", "2", "5.00", "10.00", "", "F-0"]


def test_the_sync_source_page_never_shows_the_key_or_its_encrypted_form(alice):
    client = signed_in_client("alice")
    form = {
        "name": "Shop",
        "url": "https://shop.example.com/api/sales",
        "api_key": "sk-live-SECRET-123",
        "hour": "2",
        "timezone": "Europe/Paris",
        "enabled": "on",
        "expect_rows": "on",
    }

    assert client.post("/admin/ingest/syncsource/add/", form).status_code == 302
    with schema_context("alice"):
        source = SyncSource.objects.get()
        token = source.api_key_encrypted
        assert source_api_key(source) == "sk-live-SECRET-123"
    assert (
        client.post(f"/admin/ingest/syncsource/{source.pk}/change/", {**form, "api_key": ""}).status_code
        == 302
    )

    for url in ("/admin/ingest/syncsource/", f"/admin/ingest/syncsource/{source.pk}/change/"):
        page = client.get(url).content.decode()
        assert "sk-live-SECRET-123" not in page and token not in page and "api_key_encrypted" not in page
    with schema_context("alice"):
        assert source_api_key(SyncSource.objects.get()) == "sk-live-SECRET-123"  # an empty field keeps it


def test_clearing_the_sync_source_key_removes_it_and_a_bad_address_is_refused_on_the_form(alice):
    client = signed_in_client("alice")
    form = {"name": "Shop", "url": "https://shop.example.com/api/sales", "api_key": "sk-live-SECRET-123"}
    form.update(hour="2", timezone="UTC", enabled="on")
    client.post("/admin/ingest/syncsource/add/", form)
    with schema_context("alice"):
        source = SyncSource.objects.get()

    page = client.post(f"/admin/ingest/syncsource/{source.pk}/change/", {**form, "url": "not a url"})
    assert page.status_code == 200 and "Enter a valid URL." in page.content.decode()
    client.post(
        f"/admin/ingest/syncsource/{source.pk}/change/", {**form, "api_key": "", "clear_api_key": "on"}
    )

    with schema_context("alice"):
        assert SyncSource.objects.get().api_key_encrypted == ""


def test_resolving_an_alert_in_the_admin_keeps_what_happened(alice):
    with schema_context("alice"):
        alert = Alert.objects.create(kind=Alert.Kind.SYNC_FAILED, message="The shop API answered 500.")
    client = signed_in_client("alice")

    response = client.post(
        f"/admin/ingest/alert/{alert.pk}/change/",
        {
            "resolved_at_0": "2026-11-02",
            "resolved_at_1": "09:30:00",
            "message": "rewritten",
            "kind": "sync_empty",
        },
    )

    assert response.status_code == 302
    with schema_context("alice"):
        alert.refresh_from_db()
        assert alert.resolved_at is not None
        assert (alert.kind, alert.message) == (Alert.Kind.SYNC_FAILED, "The shop API answered 500.")


def test_bobs_admin_lists_none_of_alices_rows_and_cannot_open_them(alice, bob):
    alice_client = signed_in_client("alice")
    confirm(alice_client, "kpis/account", preview(alice_client, "kpis/account", GOOD))
    with schema_context("alice"):
        account, upload = Account.objects.get(external_id="A-1"), Upload.objects.first()
    client = signed_in_client("bob")

    for url in ("/admin/kpis/account/", "/admin/ingest/upload/"):
        page = client.get(url).content.decode()
        assert "Acme" not in page and "accounts.csv" not in page
    for url in (f"/admin/kpis/account/{account.pk}/change/", f"/admin/ingest/upload/{upload.pk}/change/"):
        response = client.get(url, follow=True)  # Django's admin answers a missing row with a redirect
        assert response.redirect_chain == [("/admin/", 302)] and "doesn’t exist" in response.content.decode()
    assert "Acme" not in "".join(row[1] for row in export(client, "kpis/account"))


def test_a_viewer_cannot_open_the_tenant_admin_or_import(alice):
    tenant_member("alice", "viewer", role=User.Role.VIEWER)
    client = signed_in_client("alice", username="viewer")

    for response in (client.get("/admin/kpis/account/"), preview(client, "kpis/account", GOOD)):
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    with schema_context("alice"):
        assert not Upload.objects.exists()


# --- errors say what to fix, never with a traceback ----------------------------------------------


def test_a_file_with_a_10_mb_line_names_the_line_and_the_limit(alice):
    content = GOOD + "A-3," + "x" * 10_000_000 + "\n"

    page = preview(signed_in_client("alice"), "kpis/account", content).content.decode()

    assert "Line 4 is longer than 1,000,000 characters" in page
    assert "encountered" not in page


def test_a_row_wider_than_the_header_says_what_to_fix(alice):
    page = preview(
        signed_in_client("alice"), "kpis/account", GOOD + "A-3,Gamma,1,,,,,,extra\n"
    ).content.decode()

    assert "more cells than the header has columns" in page
    assert "encountered" not in page


def test_anything_else_tablib_cannot_read_is_a_sentence_with_its_reason(alice, monkeypatch):
    def unreadable(self, data, **kwargs):
        raise ValueError("an unexpected structure")

    monkeypatch.setattr("import_export.formats.base_formats.CSV.create_dataset", unreadable)
    page = preview(signed_in_client("alice"), "kpis/account", GOOD).content.decode()

    assert "The file could not be read as CSV (an unexpected structure)" in page
    assert "encountered" not in page


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "cp1252"])
def test_files_in_the_encodings_the_portal_reads_import_in_the_admin_too(alice, codec):
    client = signed_in_client("alice")
    content = ACCOUNTS + "A-1,Café Müller,1000,Retail,EU,active,2027-01-31,ann\n"

    previewed = preview(client, "kpis/account", content.encode(codec))
    assert "Preview, nothing written yet: 1 new" in previewed.content.decode()
    confirm(client, "kpis/account", previewed)

    with schema_context("alice"):
        assert Account.objects.get(external_id="A-1").name == "Café Müller"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "is neither a CSV nor an Excel file"),
        (b"PK\x03\x04" + bytes(64), "is an Excel workbook, not a CSV file"),
    ],
    ids=["binary", "workbook"],
)
def test_a_file_that_is_not_csv_is_refused_with_a_sentence(alice, content, message):
    page = preview(signed_in_client("alice"), "kpis/account", content).content.decode()

    assert message in page and "encountered" not in page


def test_import_errors_show_no_traceback_or_internal_names(alice):
    client = signed_in_client("alice")
    plan = PlanFactory(max_documents=0)
    tenant_change_plan(tenant=alice, plan=plan)

    refused_on_receipt = preview(client, "kpis/account", GOOD).content.decode()

    assert "uploads a month and they are used up" in refused_on_receipt
    for page in (
        refused_on_receipt,
        preview(client, "kpis/account", "external_id,revnue\nA-1,5\n").content.decode(),
    ):
        assert "Traceback" not in page and "ingest.parsers" not in page and "FileRefused" not in page


def test_confirming_a_preview_that_is_gone_says_to_import_again(alice):
    client = signed_in_client("alice")
    previewed = preview(client, "kpis/account", GOOD)
    confirm(client, "kpis/account", previewed)

    again = confirm(client, "kpis/account", previewed)  # a second click, or a preview a day old

    assert again.status_code == 200 and again.redirect_chain[-1][0] == "/admin/kpis/account/import/"
    assert "no longer available" in again.content.decode()
    with schema_context("alice"):
        assert Account.objects.count() == 2


def test_another_tenants_admin_cannot_confirm_a_preview_nor_learn_it_exists(alice, bob):
    alice_client = signed_in_client("alice")
    previewed = preview(alice_client, "kpis/account", GOOD)

    from_bob = confirm(signed_in_client("bob"), "kpis/account", previewed)

    assert "no longer available" in from_bob.content.decode()  # the same answer as for no preview
    with schema_context("bob"):
        assert not Account.objects.exists()
    confirm(alice_client, "kpis/account", previewed)
    with schema_context("alice"):
        assert Account.objects.count() == 2
