"""The Data tab in a real browser: the KPI catalog and the column legends are there to find, and a
file naming KPIs wrongly and an unknown account shows its error report without a Confirm button.
Each page is saved as a screenshot under var/screenshots/ for a person to look at."""

import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from ingest.models import Upload
from ingest.services import upload_process
from tests.browser.conftest import TENANT

pytestmark = pytest.mark.django_db

SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
BAD_FILE = "account,kpi,period,value\nACC-001,Net Promotor Score,2026-10,41\nNC-999,nps,2026-10,30\n"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def process_as_the_worker(name: str) -> None:
    """On a connection of its own, outside the test's transaction, so the server sees the result."""

    def process():
        try:
            with schema_context(TENANT):
                upload_process(upload_id=Upload.objects.get(original_name=name).pk)
        finally:
            connection.close()

    worker = threading.Thread(target=process)
    worker.start()
    worker.join()


def test_the_data_tab_lists_the_kpi_catalog_and_each_templates_columns(tenant_admin, site):
    tenant_admin.open(f"{site.tenant_url}/data/")
    page = tenant_admin.page
    page.click("summary:has-text('KPI values')")
    shot(page, "data-tab")

    assert page.locator("#kpi-catalog td", has_text="Net Promoter Score").is_visible()
    assert page.get_by_text("a KPI key or its display name").is_visible()
    assert page.get_by_label("Create missing accounts").is_visible()
    assert tenant_admin.problems == []


def test_a_file_with_a_misspelt_kpi_and_an_unknown_account_shows_why_and_no_confirm(
    tenant_admin, site, tmp_path
):
    bad = tmp_path / "bad-kpis.csv"
    bad.write_text(BAD_FILE)
    tenant_admin.open(f"{site.tenant_url}/data/")
    page = tenant_admin.page
    page.select_option("select[name=kind]", "kpis")
    page.set_input_files("input[name=file]", str(bad))
    with page.expect_navigation():
        page.click("button:has-text('Upload')")
    process_as_the_worker("bad-kpis.csv")
    tenant_admin.open(page.url)
    shot(page, "upload-error-report")

    assert page.get_by_text("did you mean 'Net Promoter Score' (key nps)?", exact=False).is_visible()
    assert page.get_by_text(
        "unknown account NC-999; add it in an accounts file first", exact=False
    ).is_visible()
    assert page.get_by_role("button", name="Confirm").count() == 0
    assert page.get_by_text("nothing to load", exact=False).is_visible()
