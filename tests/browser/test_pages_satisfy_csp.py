"""The pages satisfy the Content-Security-Policy in a real browser: no violation, no JS error,
no failed request, on the portal, both admin sites, the API docs and the public site."""

import re

import pytest

from tests.browser.conftest import STAFF

# The site's data is committed by the module's fixtures; the mark gets the test database set up.
pytestmark = pytest.mark.django_db

PORTAL_PAGES = [
    "/",
    "/accounts/",
    "/accounts/{account_id}/",
    "/insights/",
    "/data/",
    "/playbooks/",
    "/playbooks/{playbook_key}/",
    "/playbooks/{playbook_key}/triggers/new/",
    "/executions/",
    "/executions/{execution_id}/",
    "/executions/{execution_id}/report/",
    "/knowledge/",
    "/knowledge/documents/{doc_id}/",
    "/knowledge/questions/",
    "/settings/health/",
    "/settings/api-keys/",
    "/settings/usage/",
    "/settings/peer-benchmarks/",
    "/settings/team/",
]
TENANT_ADMIN_PAGES = [
    "/admin/",
    "/admin/kpis/account/",
    "/admin/kpis/account/{account_id}/change/",
    "/admin/kpis/account/import/",
    "/admin/kpis/account/export/",
    "/admin/ingest/syncsource/add/",
    "/admin/playbooks/trigger/",
    "/admin/playbooks/playbook/",
    "/admin/axes/accessattempt/",
]


def test_signing_in_satisfies_the_csp(watched, site):
    watched.sign_in(f"{site.tenant_url}/login/", "admin")

    assert watched.page.url == f"{site.tenant_url}/"
    assert watched.problems == []


@pytest.mark.parametrize("path", PORTAL_PAGES + TENANT_ADMIN_PAGES)
def test_the_tenant_page_satisfies_the_csp(tenant_admin, site, path):
    tenant_admin.open(site.tenant_url + path.format(**vars(site)))

    assert tenant_admin.problems == []


def test_the_charts_are_drawn(tenant_admin, site):
    """Chart.js and charts.js run under the CSP (they would fail quietly if blocked)."""
    tenant_admin.open(f"{site.tenant_url}/accounts/{site.account_id}/")

    drawn = tenant_admin.page.evaluate(
        "[...document.querySelectorAll('canvas')].filter(Chart.getChart).length"
    )
    assert drawn >= 2
    assert tenant_admin.problems == []


def test_the_report_card_charts_are_drawn(tenant_admin, site):
    tenant_admin.open(f"{site.tenant_url}/settings/health/")

    drawn = tenant_admin.page.evaluate(
        "['reliability', 'band-churn'].filter((id) => Chart.getChart(id)).length"
    )
    assert drawn == 2
    assert tenant_admin.problems == []


def test_the_upload_page_polls_its_progress_with_htmx(tenant_admin, site):
    """htmx adds no <style> and evaluates no code: its config comes from a meta tag."""
    page = tenant_admin.page
    with page.expect_response(lambda response: response.url.endswith("/progress/")) as poll:
        tenant_admin.open(f"{site.tenant_url}/data/uploads/{site.upload_id}/")

    assert poll.value.status == 200
    assert page.locator("#upload-progress progress").count() == 1
    assert page.evaluate("document.querySelectorAll('style').length") == 0
    assert tenant_admin.problems == []


def test_the_print_button_prints(tenant_admin, site):
    tenant_admin.open(f"{site.tenant_url}/executions/{site.execution_id}/report/")
    tenant_admin.page.evaluate("window.print = () => { window.printed = true; }")

    tenant_admin.page.click("[data-print]")

    assert tenant_admin.page.evaluate("window.printed") is True
    assert tenant_admin.problems == []


def test_asking_the_knowledge_base_shows_the_answer_and_its_marked_passages(tenant_admin, site):
    page = tenant_admin.page
    tenant_admin.open(f"{site.tenant_url}/knowledge/")

    page.fill("[name=question]", "How much notice must a customer give before the renewal date?")
    with page.expect_navigation():
        page.click(".ask [type=submit]")

    assert "60 days" in page.inner_text("#answer")
    assert page.locator("#answer mark").count() >= 1
    assert tenant_admin.problems == []


def test_the_api_docs_render_their_operations(tenant_admin, site):
    tenant_admin.open(f"{site.tenant_url}/api/docs/")

    tenant_admin.page.wait_for_selector(".opblock-summary-path")
    assert "Pulse API" in tenant_admin.page.inner_text(".info .title")
    assert tenant_admin.problems == []


@pytest.mark.parametrize("path", ["/", "/register", "/api/docs/"])
def test_the_public_page_satisfies_the_csp(watched, site, path):
    watched.open(site.base_url + path)

    assert watched.problems == []


BACK_OFFICE_PAGES = [
    "/admin/",
    "/admin/tenants/tenant/",
    "/admin/users/user/",
    "/admin/operations/",
    "/admin/django_celery_beat/periodictask/",
    "/admin/ops/incident/",
]


def test_the_staff_back_office_satisfies_the_csp(watched, site):
    watched.sign_in(f"{site.base_url}/admin/login/", STAFF)
    assert watched.problems == []

    for path in BACK_OFFICE_PAGES:
        watched.open(site.base_url + path)
        assert watched.problems == [], path


def test_registering_lands_on_the_new_workspace(watched, site):
    """The registration form posts to the public host, which sends the browser on to the tenant's."""
    watched.open(f"{site.base_url}/register")
    form = {
        "company_name": "Initech",
        "subdomain": "initech",
        "admin_name": "Bill Lumbergh",
        "email": "bill@initech.example",
        "password": "a-long-and-fine-password-42",
    }
    for name, value in form.items():
        watched.page.fill(f"[name={name}]", value)
    site.registered.append("initech")

    with watched.page.expect_navigation(url=re.compile(r"//initech\.localhost:\d+/")):
        watched.page.click("[type=submit]")
    watched.page.wait_for_load_state("networkidle")

    assert watched.problems == []
