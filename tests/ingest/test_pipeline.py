import datetime
import io
import threading
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.db import connection
from django_tenants.utils import schema_context

from ingest.models import SalesRecord, Upload
from ingest.parsers import FileRefused
from ingest.services import UploadRequest, upload_confirm, upload_process, upload_receive
from ingest.tasks import process_upload
from kpis.models import Account, KpiValue
from tests.ingest.conftest import KPI_HEADER, SALES_HEADER, named
from tests.kpis.factories import AccountFactory
from tests.tenants.factories import PlanFactory
from users.models import User

KPIS = KPI_HEADER + "ACC-1,nps,2026-09,35\nACC-1,nps,2026-10,30\nACC-2,csat,2026-10,88\n"


def load(tenant, content, kind, name="data.csv", **options):
    """Receive then process, as the worker would, inside the tenant's schema."""
    with schema_context(tenant.schema_name):
        upload = upload_receive(
            fileobj=named(content, name),
            request=UploadRequest(
                tenant=tenant,
                original_name=name,
                kind=kind,
                acting_role="admin",
                uploaded_by="test",
                **options,
            ),
        )
        return upload_process(upload_id=upload.pk)


def counts(upload) -> tuple:
    return upload.inserted, upload.updated, upload.unchanged, upload.rejected


def test_kpi_values_load_and_create_missing_accounts(alice):
    upload = load(alice, KPIS, "kpis", create_missing_accounts=True)

    assert upload.status == Upload.Status.COMPLETED
    assert counts(upload) == (3, 0, 0, 0)
    with schema_context("alice"):
        assert set(Account.objects.values_list("external_id", flat=True)) == {"ACC-1", "ACC-2"}
        assert KpiValue.objects.count() == 3
        assert Account.objects.get(external_id="ACC-1").snapshots.count() == 2  # health refreshed


def test_the_same_file_three_times_changes_nothing_after_the_first(alice):
    results = [counts(load(alice, KPIS, "kpis", create_missing_accounts=True)) for _ in range(3)]

    assert results == [(3, 0, 0, 0), (0, 0, 3, 0), (0, 0, 3, 0)]
    with schema_context("alice"):
        assert KpiValue.objects.count() == 3
        assert Upload.objects.filter(original_name="data.csv").order_by("version").last().version == 3


def test_a_kpi_reupload_keeps_the_previous_value_as_an_older_version(alice):
    load(alice, KPIS, "kpis", create_missing_accounts=True)
    upload = load(alice, KPI_HEADER + "ACC-1,nps,2026-10,12\n", "kpis")  # ACC-1 exists now

    assert counts(upload) == (0, 1, 0, 0)
    with schema_context("alice"):
        versions = KpiValue.objects.filter(account__external_id="ACC-1", kpi__key="nps", period="2026-10-01")
        assert sorted(versions.values_list("version", "value", "is_current")) == [
            (1, 30.0, False),
            (2, 12.0, True),
        ]


def test_bad_rows_are_reported_with_line_and_reason_and_good_rows_load(alice):
    content = (
        KPI_HEADER
        + "ACC-1,nps,2026-10,30\nACC-1,no_such_kpi,2026-10,1\nACC-2,nps,2026-13,5\nACC-3,csat,2026-10,900\n"
    )
    upload = load(alice, content, "kpis", create_missing_accounts=True)

    assert counts(upload) == (1, 0, 0, 3)
    with schema_context("alice"):
        errors = list(upload.errors.values_list("line", "field"))
    assert errors == [(3, "kpi"), (4, "period"), (5, "value")]


def test_a_dry_run_writes_nothing_then_confirm_loads(alice, django_capture_on_commit_callbacks):
    upload = load(alice, KPIS, "kpis", dry_run=True, create_missing_accounts=True)

    assert upload.status == Upload.Status.PREVIEWED and counts(upload) == (3, 0, 0, 0)
    with schema_context("alice"):
        assert not KpiValue.objects.exists() and not Account.objects.exists()
        with django_capture_on_commit_callbacks() as queued:
            upload_confirm(upload=upload, acting_role="admin")
        assert len(queued) == 1
        assert counts(upload_process(upload_id=upload.pk)) == (3, 0, 0, 0)


def test_accounts_upsert_by_external_id(alice):
    header = "external_id,name,revenue,industry,region,status,renewal_date,owner\n"
    first = load(
        alice,
        header + 'A1,Acme,"1,000.50",Software,EMEA,active,2027-01-31,Maya\nA2,Beta,5,,,,,\n',
        "accounts",
    )
    second = load(
        alice,
        header + "A1,Acme Corp,1000.50,Software,EMEA,active,2027-01-31,Maya\nA2,Beta,5,,,,,\n",
        "accounts",
    )

    assert counts(first) == (2, 0, 0, 0) and counts(second) == (0, 1, 1, 0)
    with schema_context("alice"):
        assert str(Account.objects.get(external_id="A1").revenue) == "1000.50"


def test_sales_validate_totals_upsert_and_feed_expansion_revenue(alice):
    load(alice, "external_id,name,revenue\nA1,Acme,10000\n", "accounts")
    content = SALES_HEADER + (
        "2026-10-03,u1,Widget,2,100.00,200.00,EMEA,A1\n"
        "2026-10-04,u1,Widget,3,100.00,250.00,EMEA,A1\n"  # total ≠ 3 × 100
        "2026-10-03,u1,Widget,2,100.00,200.00,EMEA,A1\n"  # duplicate inside the file
    )
    upload = load(alice, content, "sales")

    assert counts(upload) == (1, 0, 0, 2)
    with schema_context("alice"):
        assert SalesRecord.objects.count() == 1
        expansion = KpiValue.objects.get(kpi__key="expansion_revenue", is_current=True)
        assert (expansion.period.isoformat(), expansion.value) == ("2026-10-01", 2.0)  # 200 / 10,000 ARR
    assert counts(load(alice, content, "sales")) == (0, 0, 1, 2)


def test_users_import_asks_for_a_new_password_and_never_overwrites(alice):
    content = "username,email,role,initial_password\nnew_user_1,u1@a.example.com,user,TempPass123!\nadmin,x@a.example.com,admin,TempPass456!\n"
    upload = load(alice, content, "users")

    assert counts(upload) == (1, 0, 1, 0)
    with schema_context("alice"):
        user = User.objects.get(username="new_user_1")
        assert user.must_change_password and user.role == "viewer" and user.check_password("TempPass123!")
        assert User.objects.get(username="admin").email == "admin@alice.example.com"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("big.csv", KPI_HEADER + "A,nps,2026-10,1\n" * 40, "above the 0.5 KB limit"),
        ("renamed.xlsx", KPIS, "renamed"),
        ("picture.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "neither a CSV nor an Excel file"),
        ("empty.csv", b"", "empty"),
    ],
)
def test_hostile_or_broken_files_are_refused_whole_and_nothing_is_kept(
    alice, media_root, settings, name, content, message
):
    settings.INGEST_MAX_UPLOAD_BYTES = 512
    with schema_context("alice"), pytest.raises(FileRefused, match=message):
        upload_receive(
            fileobj=named(content, name),
            request=UploadRequest(tenant=alice, original_name=name, kind="kpis", acting_role="admin"),
        )
    with schema_context("alice"):
        assert not Upload.objects.exists()
    assert not any(Path(media_root).rglob("*.*"))


def test_a_path_traversal_file_name_never_leaves_the_tenants_folder(alice, media_root):
    with schema_context("alice"):
        upload = upload_receive(
            fileobj=named(KPIS, "../../etc/passwd.csv"),
            request=UploadRequest(
                tenant=alice, original_name="../../etc/passwd.csv", kind="kpis", acting_role="admin"
            ),
        )
    assert upload.original_name == "passwd.csv"
    stored = (Path(media_root) / upload.stored_path).resolve()
    assert stored.is_relative_to(Path(media_root).resolve() / "uploads" / "alice")


def test_a_missing_column_fails_the_upload_with_the_expected_columns(alice):
    upload = load(alice, "account,kpi,value\nA,nps,3\n", "kpis")

    assert upload.status == Upload.Status.FAILED
    assert "period" in upload.message and "Expected" in upload.message


def test_two_deliveries_at_once_load_once(committed_tenants):
    tenant = committed_tenants("alice")
    with schema_context("alice"):
        upload = upload_receive(
            fileobj=named(KPIS, "k.csv"),
            request=UploadRequest(
                tenant=tenant,
                original_name="k.csv",
                kind="kpis",
                acting_role="admin",
                create_missing_accounts=True,
            ),
        )
    start, outcomes = threading.Barrier(2), []

    def deliver():
        try:
            with schema_context("alice"):
                start.wait()
                outcomes.append(upload_process(upload_id=upload.pk).inserted)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with schema_context("alice"):
        assert KpiValue.objects.count() == 3
        assert Upload.objects.get(pk=upload.pk).attempts == 1


def test_two_uploads_of_the_same_sales_at_once_both_load_without_a_key_clash(committed_tenants):
    """Sales merge by UPDATE then INSERT … WHERE NOT EXISTS; merges of one tenant take turns,
    so the second sees the first's rows instead of inserting them again."""
    tenant = committed_tenants("alice")
    rows = [f"2026-10-{1 + n % 28:02d},u{n},Widget,2,10.125,20.25,EMEA,A1\n" for n in range(20_000)]
    content = SALES_HEADER + "".join(rows)  # big enough for the two merges to overlap
    with schema_context("alice"):
        AccountFactory(external_id="A1")  # a new one would make the loads take turns
        uploads = [
            upload_receive(
                fileobj=named(content, f"s{n}.csv"),
                request=UploadRequest(
                    tenant=tenant, original_name=f"s{n}.csv", kind="sales", acting_role="admin"
                ),
            )
            for n in range(2)
        ]
    start = threading.Barrier(2)

    def process(upload):
        try:
            with schema_context("alice"):
                start.wait()
                upload_process(upload_id=upload.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=process, args=(upload,)) for upload in uploads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with schema_context("alice"):
        done = sorted(counts(Upload.objects.get(pk=upload.pk)) for upload in uploads)
        assert done == [(0, 0, 20_000, 0), (20_000, 0, 0, 0)]  # 10.125 is stored as 10.13: not a change
        assert SalesRecord.objects.count() == 20_000


def test_a_file_that_would_pass_the_plans_account_limit_is_refused_whole(alice):
    from tenants.services import tenant_change_plan

    tenant_change_plan(tenant=alice, plan=PlanFactory(max_accounts=2))
    upload = load(
        alice,
        KPI_HEADER + "A,nps,2026-10,1\nB,nps,2026-10,1\nC,nps,2026-10,1\n",
        "kpis",
        create_missing_accounts=True,
    )

    assert upload.status == Upload.Status.FAILED
    assert "allows 2 accounts" in upload.message and "would bring the workspace to 3" in upload.message
    with schema_context("alice"):
        assert not Account.objects.exists() and not KpiValue.objects.exists()


def test_thousands_of_rejected_rows_are_all_reported_and_good_rows_still_load(alice):
    good = "".join(f"ACC-1,nps,2026-{m:02d},30\n" for m in range(1, 11))
    bad = "".join(f"ACC-1,no_such_kpi,2026-10,{i}\n" for i in range(2500))  # > ERROR_BATCH, mid-COPY
    upload = load(alice, KPI_HEADER + good + bad, "kpis", create_missing_accounts=True)

    assert upload.status == Upload.Status.COMPLETED and counts(upload) == (10, 0, 0, 2500)
    with schema_context("alice"):
        assert upload.errors.count() == 2500 and KpiValue.objects.count() == 10


def test_a_queued_message_for_an_upload_deleted_meanwhile_finishes_quietly(alice):
    with schema_context("alice"):
        assert process_upload(upload_id=987654) == "missing"


def test_a_users_file_that_would_pass_the_plans_user_limit_is_refused_whole(alice):
    from tenants.models import Plan
    from tenants.services import tenant_change_plan

    tenant_change_plan(
        tenant=alice,
        plan=Plan.objects.create(
            name="two-users", max_accounts=5, max_documents=10, max_api_requests_per_month=10, max_users=2
        ),
    )
    rows = "".join(f"u{n},u{n}@a.example.com,viewer,TempPass12{n}!\n" for n in range(1, 3))
    upload = load(alice, "username,email,role,initial_password\n" + rows, "users")

    assert upload.status == Upload.Status.FAILED
    assert "allows 2 users" in upload.message and "would bring the workspace to 3" in upload.message
    with schema_context("alice"):
        assert list(User.objects.values_list("username", flat=True)) == ["admin"]


def test_a_sales_workbook_loads_end_to_end_through_the_streaming_reader(alice):
    load(alice, "external_id,name,revenue\nA1,Acme,10000\n", "accounts")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(
        ["Date", "User ID", "Product Name", "Quantity", "Unit Price", "Total Amount", "Region", "Account"]
    )
    sheet.append([datetime.date(2026, 10, 3), "00123", "Widget", 2, 100, 200.0, "EMEA", "A1"])
    sheet.append([datetime.date(2026, 10, 4), "u2", "Widget", 3, 100, 250, "EMEA", "A1"])  # total ≠ 3 × 100
    buffer = io.BytesIO()
    workbook.save(buffer)

    upload = load(alice, buffer.getvalue(), "sales", name="sales.xlsx")

    assert upload.status == Upload.Status.COMPLETED and counts(upload) == (1, 0, 0, 1)
    with schema_context("alice"):
        record = SalesRecord.objects.get()
        assert (record.date, record.user_id, record.quantity) == (datetime.date(2026, 10, 3), "00123", 2)
        assert upload.errors.get().line == 3  # the sheet's row number


def test_a_damaged_workbook_fails_its_upload_with_a_sentence_not_an_error(alice):
    workbook = openpyxl.Workbook()
    workbook.active.append(list(SALES_HEADER.strip().split(",")))
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(b"</row>", b"</row><row r=")
    damaged = io.BytesIO()
    with zipfile.ZipFile(damaged, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)

    upload = load(alice, damaged.getvalue(), "sales", name="sales.xlsx")

    assert upload.status == Upload.Status.FAILED
    assert upload.message.startswith("The Excel file is damaged or unsafe and cannot be read.")
