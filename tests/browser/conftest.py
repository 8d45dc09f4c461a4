"""A demo-like tenant served by a real gunicorn, and Debian's Chromium driven by Playwright.

Playwright drives the system Chromium (never a browser it downloads); `make test` installs it.
The site's data is made before the browser starts and removed after it stops; the tests only
use the browser.
"""

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, connections
from django_tenants.utils import schema_context

from ingest.services import UploadRequest, upload_dir, upload_receive
from kpis.demo import demo_data_load, renewal_book_load
from kpis.knowledge.demo import demo_documents_load
from kpis.models import Account, KbDocument
from kpis.renewal_history import book_generate
from kpis.services import report_card_compute
from playbooks.demo import demo_playbooks_load
from playbooks.models import Execution, Playbook
from tenants.models import Tenant
from tenants.services import public_tenant_ensure
from tests.conftest import DEMO_TODAY, PASSWORD, make_tenant, schemas_drop
from tests.live_server import gunicorn
from users.models import User

CHROMIUM = Path("/usr/bin/chromium")
# A failing browser test leaves a screenshot of its page here (var/ is not committed).
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "test-screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TENANT = "acme"
UPLOAD = b"account,kpi,period,value\nACC-001,nps,2026-10,41\n"
STAFF = "staff"
# Reported by the page itself, outside its control (Chromium asks every host for one).
IGNORED_URLS = ("/favicon.ico",)


@dataclass
class Site:
    base_url: str  # the public host
    tenant_url: str
    account_id: int
    playbook_key: str
    execution_id: str
    upload_id: str
    doc_id: str
    registered: list[str] = field(default_factory=list)  # tenants the tests register


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    registered = []
    with django_db_blocker.unblock():
        public_was_there = Tenant.objects.filter(schema_name=settings.PUBLIC_SCHEMA_NAME).exists()
        try:
            data = site_data_make()
            with gunicorn(workers=2, threads=2) as url:
                port = url.rsplit(":", 1)[1]
                yield Site(
                    f"http://localhost:{port}",
                    f"http://{TENANT}.localhost:{port}",
                    registered=registered,
                    **data,
                )
        finally:
            site_data_remove([TENANT, *registered], public_too=not public_was_there)


def site_data_make() -> dict:
    """The public site with a staff user, and a tenant with the demo data set, playbooks and
    an upload still waiting for its worker (its page polls for progress)."""
    public_tenant_ensure()
    User.objects.create_superuser(STAFF, "staff@pulse.example", PASSWORD)
    tenant = make_tenant(TENANT)
    with schema_context(TENANT):
        demo_data_load(today=DEMO_TODAY)
        renewal_book_load(book_generate(40, DEMO_TODAY))  # renewals, so Settings → Health has report cards
        report_card_compute()
        demo_playbooks_load()
        demo_documents_load()
        upload = upload_receive(
            fileobj=ContentFile(UPLOAD),
            request=UploadRequest(tenant=tenant, original_name="kpis.csv", kind="kpis", acting_role="admin"),
        )
        return {
            "account_id": Account.objects.order_by("pk").first().pk,
            "playbook_key": Playbook.objects.order_by("key").first().key,
            "execution_id": str(Execution.objects.order_by("started_at").first().pk),
            "upload_id": str(upload.public_id),
            "doc_id": KbDocument.objects.order_by("doc_id").first().doc_id,
        }


def site_data_remove(slugs: list[str], public_too: bool) -> None:
    """Remove what the site made and nothing else: later tests expect the data that migrations
    seeded (plans) to be there."""
    connection.set_schema_to_public()
    for tenant in Tenant.objects.filter(schema_name__in=slugs):
        shutil.rmtree(upload_dir(tenant), ignore_errors=True)
    schemas_drop(slugs)
    User.objects.filter(username=STAFF).delete()
    # Queryset deletes: Tenant.delete() may drop the schema, and the public one must stay.
    Tenant.objects.filter(schema_name__in=slugs).delete()
    if public_too:
        Tenant.objects.filter(schema_name=settings.PUBLIC_SCHEMA_NAME).delete()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed browser test, save what each of its pages showed, named after the test."""
    report = yield
    if report.when == "call" and report.failed:
        pages = [value for value in item.funcargs.values() if isinstance(value, Watched)]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for number, watched in enumerate(pages):
            path = SCREENSHOTS / f"{item.name}-{number}.png"
            watched.page.screenshot(path=str(path), full_page=True)
            report.sections.append(("screenshot", str(path)))
    return report


@pytest.fixture(scope="module")
def browser(site):
    """Chromium for the module; `site` first, so that it outlives the browser."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (as root) or use `make test`.")
    # Playwright's sync API keeps an asyncio loop running in this thread, and Django then refuses
    # database calls, among them pytest-django's per-test transaction. The loop only drives the
    # browser and never runs Django code, so the calls are safe (Playwright's docs say the same).
    with sync_playwright() as playwright, async_unsafe_allowed():
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
        # Connections opened while the loop ran are not the ones Django's teardown closes (they
        # are kept per running loop); left open, they would stop the test database's removal.
        connections.close_all()


@contextmanager
def async_unsafe_allowed():
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportProblem(`CSP ${event.effectiveDirective} blocked ${event.blockedURI || "inline"} `
    + `(${event.sourceFile || document.location.href}:${event.lineNumber})`);
});
"""


class Watched:
    """A browser page that records every CSP violation, JS error and failed request."""

    def __init__(self, context):
        self.problems: list[str] = []
        context.expose_function("reportProblem", lambda problem: self.problems.append(problem))
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        self.page = context.new_page()
        self.page.on("pageerror", lambda error: self.problems.append(f"JS error: {error}"))
        self.page.on("console", self._console)
        self.page.on("response", self._response)

    def _console(self, message) -> None:
        # A failed request is logged without its URL; _response reports it with one.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console: {message.text}")

    def _response(self, response) -> None:
        if response.status >= 400 and not response.url.endswith(IGNORED_URLS):
            self.problems.append(f"HTTP {response.status} {response.url}")

    def open(self, url: str) -> None:
        """Load the page and what it loads; `problems` then holds this page's only."""
        self.problems.clear()
        response = self.page.goto(url)
        assert response.status == 200, f"{url} answered {response.status}"
        self.page.wait_for_load_state("networkidle")

    def sign_in(self, url: str, username: str, password: str = PASSWORD) -> None:
        self.open(url)
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        with self.page.expect_navigation():
            self.page.click("[type=submit]")
        self.page.wait_for_load_state("networkidle")


@pytest.fixture
def watched(browser):
    context = browser.new_context()
    yield Watched(context)
    context.close()


@pytest.fixture(scope="module")
def tenant_admin(browser, site):
    """One signed-in tenant admin for the module's portal pages."""
    context = browser.new_context()
    page = Watched(context)
    page.sign_in(f"{site.tenant_url}/login/", "admin")
    yield page
    context.close()
