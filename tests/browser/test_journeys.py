"""The journeys a CS manager takes, in a real browser against a real server."""

import pytest

pytestmark = pytest.mark.django_db


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
