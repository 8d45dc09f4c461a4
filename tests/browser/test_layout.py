"""The portal's layout in a real browser: the navigation folds behind "Menu" on a phone without
widening the page, and fits one line on a laptop with the settings grouped under one menu."""

import pytest

from tests.browser.conftest import Watched

pytestmark = pytest.mark.django_db

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
PAGES = ["/", "/accounts/", "/accounts/{account_id}/", "/insights/", "/data/", "/playbooks/", "/executions/"]


@pytest.fixture
def signed_in(browser, site, request):
    context = browser.new_context(viewport=request.param)
    watched = Watched(context)
    watched.sign_in(f"{site.tenant_url}/login/", "admin")
    yield watched
    context.close()


def page_width(watched: Watched) -> int:
    return watched.page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("signed_in", [PHONE], indirect=True)
@pytest.mark.parametrize("path", PAGES)
def test_on_a_phone_no_page_is_wider_than_the_screen(signed_in, site, path):
    signed_in.open(site.tenant_url + path.format(**vars(site)))

    assert page_width(signed_in) <= PHONE["width"]


@pytest.mark.parametrize("signed_in", [PHONE], indirect=True)
def test_on_a_phone_the_navigation_opens_from_the_menu_button(signed_in, site):
    signed_in.open(f"{site.tenant_url}/")
    accounts = signed_in.page.locator("nav.main-nav >> text=Accounts")
    assert not accounts.is_visible()

    signed_in.page.click("text=Menu")

    assert accounts.is_visible()
    signed_in.page.click("nav.main-nav summary")
    assert signed_in.page.locator("nav.main-nav >> text=API keys").is_visible()


@pytest.mark.parametrize("signed_in", [LAPTOP], indirect=True)
def test_on_a_laptop_the_navigation_is_one_line_with_settings_in_one_menu(signed_in, site):
    signed_in.open(f"{site.tenant_url}/")
    tops = signed_in.page.eval_on_selector_all(
        "nav.main-nav > a, nav.main-nav > details > summary",
        "items => items.map(i => i.getBoundingClientRect().top)",
    )
    assert len(tops) >= 8
    assert max(tops) - min(tops) < 5
    assert not signed_in.page.locator("text=API keys").is_visible()
    assert not signed_in.page.locator("text=Menu").is_visible()

    signed_in.page.click("nav.main-nav summary")

    assert signed_in.page.locator("text=API keys").is_visible()
    assert page_width(signed_in) <= LAPTOP["width"]
