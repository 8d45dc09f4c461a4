"""Teammates and the account timeline in a real browser: an admin invites a teammate, who opens
the link, sets a password and is signed in; a note written on the account page tops its timeline."""

import re

import pytest

# The site's data is committed by the module's fixtures; the mark gets the test database set up.
pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet-lantern-harbour-77"


def test_an_invited_teammate_sets_a_password_and_is_signed_in(tenant_admin, watched, site):
    page = tenant_admin.page
    tenant_admin.open(f"{site.tenant_url}/settings/team/")
    page.fill("input[name=email]", "nina@acme.example.com")
    page.fill("input[name=full_name]", "Nina Novak")
    page.select_option("select[name=role]", "manager")
    with page.expect_navigation():
        page.click("text=Send invitation")
    link = page.inner_text("#invitation pre.secret").strip()
    assert re.fullmatch(rf"{re.escape(site.tenant_url)}/invite/[^/]+/", link)
    assert "Nina Novak" in page.inner_text("table")

    watched.open(link)  # the teammate, in a browser of their own
    watched.page.fill("input[name=new_password1]", NEW_PASSWORD)
    watched.page.fill("input[name=new_password2]", NEW_PASSWORD)
    with watched.page.expect_navigation():
        watched.page.click("text=Set password and sign in")

    assert watched.page.url == f"{site.tenant_url}/"
    assert "Sign out (Nina Novak)" in watched.page.content()
    assert watched.problems == []


def test_a_note_written_on_the_account_page_tops_its_timeline(tenant_admin, site):
    page = tenant_admin.page
    tenant_admin.open(f"{site.tenant_url}/accounts/{site.account_id}/")
    page.fill("#timeline textarea[name=body]", "QBR booked for next Tuesday.")
    with page.expect_navigation():
        page.click("text=Add note")

    first = page.locator("#timeline .timeline-event").first
    assert "QBR booked for next Tuesday." in first.inner_text()
    assert tenant_admin.problems == []
