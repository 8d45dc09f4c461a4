"""Scheduled sales syncs against a real HTTP server on 127.0.0.1 serving pages of JSON.

Why a real server rather than mocking urllib: timeouts, headers, status codes, pagination links
and retries are exactly what breaks in production, and only a socket exercises them.
"""

import contextlib
import datetime as dt
import io
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from ingest import sync
from ingest.crypto import decrypt, encrypt
from ingest.models import Alert, SalesRecord, SyncRun, SyncSource, Upload
from ingest.services import sync_source_save
from ingest.tasks import run_due_syncs
from tests.ingest.conftest import SALES_HEADER

TODAY = timezone.localdate()
PAGE_SIZE = 2


def sale(days_ago: int, user: str, product: str = "Seats", quantity: int = 2, price: str = "10.00") -> dict:
    total = f"{quantity * float(price):.2f}"
    return {
        "date": str(TODAY - dt.timedelta(days=days_ago)),
        "user_id": user,
        "product_name": product,
        "quantity": quantity,
        "unit_price": price,
        "total_amount": total,
        "region": "EU",
        "account": "ACME",
    }


@dataclass
class Seen:
    path: str
    query: dict
    authorization: str | None


@dataclass
class SalesApi:
    """What the server answers and what it was asked. GET /sales answers the predecessor's single
    JSON list; GET /paged the same sales PAGE_SIZE at a time with absolute `next` links."""

    base: str = ""
    sales: list = field(default_factory=list)
    failures: list = field(default_factory=list)  # statuses answered first, one per request
    delay: float = 0  # seconds to wait before answering, to provoke client timeouts
    raw: bytes | None = None  # a body to answer instead of JSON made from the sales
    requests: list = field(default_factory=list)

    def answer(self, path: str, query: dict) -> tuple[int, object]:
        if self.failures:
            return self.failures.pop(0), {"detail": "scripted failure"}
        rows = [s for s in self.sales if s["date"] >= query.get("since", "")]
        if path == "/sales":
            return 200, rows
        page = int(query.get("page", 1))
        more = len(rows) > page * PAGE_SIZE
        next_url = f"{self.base}/paged?since={query['since']}&page={page + 1}" if more else None
        return 200, {"results": rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], "next": next_url}


def handler_for(api: SalesApi):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query))
            api.requests.append(Seen(parts.path, query, self.headers.get("Authorization")))
            status, body = api.answer(parts.path, query)
            data = json.dumps(body).encode() if api.raw is None else api.raw
            time.sleep(api.delay)
            with contextlib.suppress(ConnectionError):  # the client may have timed out and left
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        def log_message(self, *args):  # keep the test output clean
            pass

    return Handler


@pytest.fixture
def api():
    sales_api = SalesApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(sales_api))
    sales_api.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield sales_api
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(sync, "BASE_DELAY", 0)


@pytest.fixture
def in_alice(alice):
    with schema_context("alice"):
        yield alice


def make_source(api: SalesApi, path: str = "/sales", **fields) -> SyncSource:
    return SyncSource.objects.create(name="Shop", url=api.base + path, **fields)


def sync_run(source: SyncSource, **options) -> SyncRun:
    run = sync.sync_run(source=source, **options)
    run.refresh_from_db()
    return run


def alerts() -> list[str]:
    return list(Alert.objects.values_list("kind", flat=True))


def test_first_run_loads_everything_then_runs_from_the_cursor_and_changes_nothing(in_alice, api):
    api.sales = [sale(1, "u1"), sale(1, "u2", "Support"), sale(0, "u3")]
    source = make_source(api)

    first = sync_run(source)

    assert (first.status, first.pages, first.rows_received, first.error) == (SyncRun.Status.OK, 1, 3, "")
    assert api.requests[0].query == {"since": str(TODAY - dt.timedelta(days=1)), "page": "1"}
    upload = first.upload
    assert (upload.via, upload.uploaded_by, upload.inserted) == (Upload.Via.SYNC, "sync:Shop", 3)
    assert SalesRecord.objects.count() == 3
    source.refresh_from_db()
    assert source.cursor == first.cursor_to == str(TODAY)
    assert source.last_run_at is not None

    second = sync_run(source)

    assert api.requests[1].query["since"] == source.cursor  # incremental, the cursor's day included
    assert (second.upload.inserted, second.upload.updated, second.upload.unchanged) == (0, 0, 1)
    assert SalesRecord.objects.count() == 3
    assert alerts() == []


def test_next_links_are_followed_page_by_page(in_alice, api):
    api.sales = [sale(2, f"u{n}") for n in range(5)]

    run = sync_run(make_source(api, "/paged"), since=TODAY - dt.timedelta(days=3))

    assert (run.status, run.pages, run.rows_received) == (SyncRun.Status.OK, 3, 5)
    assert [r.query["page"] for r in api.requests] == ["1", "2", "3"]
    assert SalesRecord.objects.count() == 5


def test_a_server_error_is_retried_and_the_retry_shows_in_the_request_log(in_alice, api):
    api.sales = [sale(1, "u1")]
    api.failures = [500, 429]

    run = sync_run(make_source(api))

    assert run.status == SyncRun.Status.OK
    assert [(r.path, r.query["page"]) for r in api.requests] == [("/sales", "1")] * 3
    assert alerts() == []


def test_retries_back_off_exponentially_then_the_run_fails_with_an_alert(in_alice, api, monkeypatch):
    monkeypatch.setattr(sync, "BASE_DELAY", 0.5)
    slept = []
    monkeypatch.setattr(sync, "sleep", slept.append)
    api.failures = [503] * 4
    source = make_source(api, cursor=str(TODAY))

    run = sync_run(source)

    assert slept == [0.5, 1, 2] and len(api.requests) == 4
    assert run.status == SyncRun.Status.FAILED and "after 4 attempts" in run.error
    assert run.finished_at is not None
    alert = Alert.objects.get()
    assert alert.kind == Alert.Kind.SYNC_FAILED and alert.sync_run == run
    assert f"cursor stays at {TODAY}" in alert.message
    source.refresh_from_db()
    assert source.cursor == str(TODAY)


def test_a_slow_api_times_out_on_every_attempt_and_the_run_fails(in_alice, api, monkeypatch):
    monkeypatch.setattr(sync, "TIMEOUT", 0.1)
    api.delay = 0.3

    run = sync_run(make_source(api))

    assert len(api.requests) == sync.ATTEMPTS
    assert run.status == SyncRun.Status.FAILED and "timed out" in run.error


def test_unauthorized_fails_at_once_with_an_alert(in_alice, api):
    api.failures = [401]

    run = sync_run(make_source(api))

    assert len(api.requests) == 1
    assert run.status == SyncRun.Status.FAILED
    assert "HTTP 401" in run.error and "API key" in run.error
    assert alerts() == [Alert.Kind.SYNC_FAILED]


@pytest.mark.parametrize("depth", [100_000, 40])
def test_json_nested_too_deeply_fails_the_run_with_a_sentence(in_alice, api, depth):
    api.raw = b'{"results": ' * depth + b"[]" + b"}" * depth

    run = sync_run(make_source(api))

    assert run.status == SyncRun.Status.FAILED
    assert "nested more than 32 levels deep" in run.error
    assert alerts() == [Alert.Kind.SYNC_FAILED]


@pytest.mark.parametrize(("expect_rows", "expected_alerts"), [(True, [Alert.Kind.SYNC_EMPTY]), (False, [])])
def test_an_empty_result_alerts_only_when_rows_were_expected(in_alice, api, expect_rows, expected_alerts):
    run = sync_run(make_source(api, expect_rows=expect_rows))

    assert (run.status, run.pages, run.rows_received, run.upload) == (SyncRun.Status.EMPTY, 1, 0, None)
    assert alerts() == expected_alerts
    assert not Upload.objects.exists()  # nothing to load, no document counted


def test_rejected_rows_are_reported_and_the_cursor_stops_before_them(in_alice, api):
    bad = sale(0, "u2") | {"total_amount": "999.00"}
    api.sales = [sale(2, "u1"), bad]
    source = make_source(api, cursor=str(TODAY - dt.timedelta(days=3)))

    run = sync_run(source)

    assert run.status == SyncRun.Status.OK and "1 row(s) rejected" in run.error
    assert run.cursor_to == str(TODAY - dt.timedelta(days=2))  # the newest *loaded* row's date


def test_the_api_key_is_sent_as_bearer_stored_encrypted_and_never_shown(in_alice, api):
    secret = "sk-live-0123456789"
    source = make_source(api)
    sync_source_save(source=source, api_key=secret)

    sync_run(source)

    assert api.requests[0].authorization == f"Bearer {secret}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key_encrypted FROM ingest_syncsource WHERE id = %s", [source.pk])
        stored = cursor.fetchone()[0]
    assert stored and secret not in stored and decrypt(stored) == secret
    assert secret not in str(source) and secret not in repr(source)
    assert secret not in str(SyncRun.objects.get()) + str(Alert.objects.get())


def test_no_authorization_header_without_a_key(in_alice, api):
    sync_run(make_source(api))

    assert api.requests[0].authorization is None


def test_a_key_encrypted_under_a_rotated_secret_still_decrypts_from_the_fallbacks(settings):
    token = encrypt("k")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"

    assert decrypt(token) == "k"


def frozen(monkeypatch, moment: dt.datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


def test_run_due_syncs_runs_each_source_once_a_day_at_its_local_hour(in_alice, api, monkeypatch):
    make_source(api, timezone="Asia/Tokyo", hour=2, expect_rows=False)  # UTC+9, no DST
    make_source(api, timezone="UTC", hour=2, enabled=False)
    tokyo_2am = dt.datetime.combine(TODAY - dt.timedelta(days=3), dt.time(17, 5), tzinfo=dt.UTC)

    ran = []
    for moment in [
        tokyo_2am - dt.timedelta(hours=1),  # 01:05 in Tokyo
        tokyo_2am,
        tokyo_2am + dt.timedelta(minutes=40),  # a second dispatch in the same local day
        tokyo_2am + dt.timedelta(days=1),
    ]:
        frozen(monkeypatch, moment)
        ran.append(run_due_syncs())

    assert ran == [0, 1, 0, 1]
    assert SyncRun.objects.count() == 2


def test_a_run_that_waited_for_its_tenants_ingest_slot_runs_what_was_due_when_dispatched(
    in_alice, api, monkeypatch
):
    make_source(api, timezone="UTC", hour=2, expect_rows=False)
    dispatched = dt.datetime.combine(TODAY - dt.timedelta(days=1), dt.time(2, 0), tzinfo=dt.UTC)
    frozen(monkeypatch, dispatched + dt.timedelta(hours=1, minutes=10))  # the slot came free at 03:10

    assert run_due_syncs(dispatched.isoformat()) == 1
    assert run_due_syncs(dispatched.isoformat()) == 0  # a duplicate message runs nothing twice
    assert run_due_syncs() == 0  # due as of now (03:10): not the source's hour


def test_a_source_of_one_tenant_is_invisible_from_another(alice, bob, api, monkeypatch):
    frozen(monkeypatch, dt.datetime.combine(TODAY, dt.time(2, 30), tzinfo=dt.UTC))
    with schema_context("alice"):
        make_source(api)  # UTC, 02:00
    with schema_context("bob"):
        assert not SyncSource.objects.exists()
        assert run_due_syncs() == 0
    with schema_context("alice"):
        assert run_due_syncs() == 1


def test_command_pulls_the_last_days_with_the_env_key_and_prints_a_summary(in_alice, api, settings):
    settings.SALES_API_KEY = "env-key"  # read from the environment at start (config/env.py)
    api.sales = [sale(3, "u1"), sale(1, "u2")]
    out = io.StringIO()

    call_command("sync_sales", "--tenant", "alice", "--api", f"{api.base}/paged", "--days", "5", stdout=out)

    assert api.requests[0].query["since"] == str(TODAY - dt.timedelta(days=5))
    assert api.requests[0].authorization == "Bearer env-key"
    assert "OK: 1 page(s), 2 row(s)" in out.getvalue() and "new 2, updated 0" in out.getvalue()
    source = SyncSource.objects.get()
    assert (source.name, source.enabled, source.api_key_encrypted) == ("sync_sales", False, "")


def test_command_exits_non_zero_with_the_reason_when_the_pull_fails(in_alice, api):
    api.failures = [404]

    with pytest.raises(CommandError, match="HTTP 404"):
        call_command("sync_sales", "--tenant", "alice", "--api", f"{api.base}/sales", stdout=io.StringIO())


def test_command_loads_a_csv_through_the_import(in_alice, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text(SALES_HEADER + f"{TODAY},u1,Seats,2,10.00,20.00,EU,ACME\n")
    out = io.StringIO()

    call_command("sync_sales", "--tenant", "alice", "--csv", str(path), stdout=out)

    assert "new 1" in out.getvalue()
    assert SalesRecord.objects.count() == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_source_on_a_private_address_is_refused_before_anything_is_sent(in_alice, api, settings, host):
    settings.SYNC_ALLOW_PRIVATE_ADDRESSES = False
    api.sales = [sale(1, "u1")]
    source = SyncSource.objects.create(name="Shop", url=api.base.replace("127.0.0.1", host) + "/sales")
    sync_source_save(source=source, api_key="secret-key")

    run = sync_run(source)

    assert run.status == SyncRun.Status.FAILED
    assert "private or reserved network address" in run.error and "public" in run.error
    assert api.requests == []  # the key never left
    assert alerts() == [Alert.Kind.SYNC_FAILED]


def test_a_failing_source_opens_one_incident_until_a_good_run_resolves_it(in_alice, api):
    from ops.models import Incident

    api.failures = [401, 401]
    source = make_source(api)
    sync_run(source), sync_run(source)

    incident = Incident.objects.get()
    assert (incident.key, incident.kind) == (f"sync_failed:alice:source-{source.pk}", "sync_failed")
    assert incident.title == "Sales sync failed in workspace alice" and incident.is_open
    assert alerts() == [Alert.Kind.SYNC_FAILED] * 2  # the workspace's record keeps every run

    api.sales = [sale(1, "u1")]
    sync_run(source)

    incident.refresh_from_db()
    assert not incident.is_open
