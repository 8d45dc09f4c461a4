"""The journeys a CS manager takes, in a real browser against a real server and a real worker."""

import datetime as dt
import re

import pytest
from django.conf import settings

from tests.celery_worker import celery_worker

pytestmark = pytest.mark.django_db

ACCOUNTS_CSV = "external_id,name,revenue,industry,region,status,renewal_date,owner\n" + "".join(
    f"GX-{n},Globex Unit {n},{100000 * n},Software,EMEA,active,2027-06-30,\n" for n in range(1, 4)
)
MONTH = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
KPIS_CSV = "account,kpi,period,value\n" + "".join(
    f"GX-{n},{kpi},{MONTH},{value}\n"
    for n in range(1, 4)
    for kpi, value in (("nps", 10 * n), ("license_utilization", 30 * n))
)
BAD_KPIS_CSV = f"account,kpi,period,value\nGX-1,nps,{MONTH},40\nGX-2,nps,not-a-month,40\n"


@pytest.fixture(scope="module")
def worker(site):
    """A real Celery worker on the test queues, for uploads started in the browser."""
    from config.celery import app

    with app.connection_for_write() as broker:
        for queue in (settings.CELERY_TASK_DEFAULT_QUEUE, settings.INGEST_QUEUE):
            broker.default_channel.queue_purge(queue)
    with celery_worker():
        yield


def register(watched, site, slug: str) -> str:
    """Register a workspace from the public site; the browser lands on it, signed in."""
    watched.open(f"{site.base_url}/register")
    form = {
        "company_name": slug.title(),
        "subdomain": slug,
        "admin_name": "Hank Scorpio",
        "email": f"hank@{slug}.example",
        "password": "a-long-and-fine-password-42",
    }
    for name, value in form.items():
        watched.page.fill(f"[name={name}]", value)
    site.registered.append(slug)
    with watched.page.expect_navigation(url=re.compile(rf"//{slug}\.localhost:\d+/")):
        watched.page.click("[type=submit]")
    watched.page.wait_for_load_state("networkidle")
    return watched.page.url.split("/welcome/")[0].rstrip("/")


def upload(watched, tenant_url: str, kind: str, name: str, content: str) -> str:
    """Upload a file from the Data tab without preview; the upload's page once it is final."""
    watched.open(f"{tenant_url}/data/")
    watched.page.select_option("[name=kind]", kind)
    watched.page.set_input_files(
        "[name=file]", {"name": name, "mimeType": "text/csv", "buffer": content.encode()}
    )
    watched.page.uncheck("[name=preview]")
    with watched.page.expect_navigation():
        watched.page.click("button:has-text('Upload')")
    watched.page.wait_for_selector("#upload-progress dl.figures", timeout=60_000)
    return watched.page.inner_text("#upload-progress")


def test_a_new_workspace_loads_accounts_and_kpis_and_its_dashboard_shows_them(watched, site, worker):
    tenant_url = register(watched, site, "globex")

    assert "Completed" in upload(watched, tenant_url, "accounts", "accounts.csv", ACCOUNTS_CSV)
    assert "Completed" in upload(watched, tenant_url, "kpis", "kpis.csv", KPIS_CSV)

    watched.open(f"{tenant_url}/")
    dashboard = watched.page.inner_text("main")
    assert all(f"Globex Unit {n}" in dashboard for n in range(1, 4))
    watched.open(f"{tenant_url}/accounts/")
    assert watched.page.locator("text=Globex Unit 3").count() >= 1
    assert watched.problems == []


def test_a_bad_file_shows_its_error_report(watched, site, worker):
    tenant_url = register(watched, site, "hooli")
    upload(watched, tenant_url, "accounts", "accounts.csv", ACCOUNTS_CSV.replace("GX-", "HX-"))

    report = upload(watched, tenant_url, "kpis", "bad.csv", BAD_KPIS_CSV.replace("GX-", "HX-"))

    assert "Rejected" in report and "not-a-month" in report
    assert watched.page.locator("a:has-text('full error report')").count() == 1


def dashboard_insights(page) -> list[str]:
    return page.locator("ul.dashboard-insights a").all_inner_texts()


def test_an_acknowledged_insight_disappears_from_the_dashboard(tenant_admin, site):
    tenant_admin.open(f"{site.tenant_url}/")
    first = dashboard_insights(tenant_admin.page)[0]

    tenant_admin.open(f"{site.tenant_url}/insights/")
    row = tenant_admin.page.locator("table.insights tbody tr", has_text=first).first
    with tenant_admin.page.expect_navigation():
        row.locator("button[value=acknowledge]").click()

    assert f"“{first}”: acknowledged." in tenant_admin.page.inner_text(".messages")
    tenant_admin.open(f"{site.tenant_url}/")
    assert first not in dashboard_insights(tenant_admin.page)
    assert tenant_admin.problems == []


def test_a_playbook_is_started_a_step_completed_and_its_report_opened(tenant_admin, site):
    page = tenant_admin.page
    tenant_admin.open(f"{site.tenant_url}/playbooks/{site.playbook_key}/")
    account = page.locator("select[name=account] option").last.inner_text()
    page.select_option("select[name=account]", label=account)
    with page.expect_navigation():
        page.click("button:has-text('Start')")
    assert re.search(r"/executions/[0-9a-f-]+/$", page.url)

    page.fill("input[name=notes]", "Called the sponsor")
    with page.expect_navigation():
        page.locator("button:has-text('Complete')").first.click()
    assert "Called the sponsor" in page.inner_text("main")

    with page.expect_navigation():
        page.click("a:has-text('Report')")
    report = page.inner_text("main")
    assert account in report and "RACI and steps" in report and "completed by admin" in report
    assert tenant_admin.problems == []
