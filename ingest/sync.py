"""Scheduled, incremental pulls from a tenant's sales API (the predecessor's JSON format).

Why the rows go through a CSV and the upload pipeline: validation, de-duplication, the idempotent
upsert by (account, date, user_id, product_name), rejected-row reports, usage counting and the
health refresh are all the pipeline's. A sync is one more way in, so a re-delivered row changes
nothing, which is what lets the cursor re-request its own day instead of risking a gap.

Why nothing escapes sync_run: nobody watches a 02:00 run, so every outcome is a SyncRun row, and
the outcomes someone must act on (failed, unexpectedly empty) also get an Alert.
"""

import csv
import datetime as dt
import http.client
import ipaddress
import json
import logging
import tempfile
import urllib.error
import urllib.request
from decimal import Decimal
from time import sleep
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.text import slugify

from api.parsers import MAX_JSON_DEPTH, nesting_depth
from ingest.alerts import problem_clear, problem_raise
from ingest.crypto import SecretUnreadable, source_api_key
from ingest.models import Alert, SyncRun, SyncSource, Upload
from ingest.parsers import FileRefused
from ingest.services import UploadRequest, upload_process, upload_receive
from tenants.models import Tenant
from users.models import User

logger = logging.getLogger(__name__)

COLUMNS = ("date", "user_id", "product_name", "quantity", "unit_price", "total_amount", "region", "account")
TIMEOUT = 30  # seconds, per request
ATTEMPTS = 4
BASE_DELAY = 0.5  # seconds before the first retry, doubling each time (0.5, 1, 2); tests set 0
MAX_PAGES = 1000
MAX_ROWS = 500_000
MAX_PAGE_BYTES = 50 * 1024 * 1024


class SyncFailed(Exception):
    """The run cannot go on; the message is a sentence for the operator."""


class _Transient(Exception):
    """Worth another attempt: a timeout, a dropped connection, HTTP 429 or 5xx."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib would send the Authorization header on to wherever a redirect points."""

    def redirect_request(self, *args, **kwargs):
        return None


class _PublicPeerOnly:
    """A tenant types the URL, so it could name this server's own network (a metadata
    service, the database, an admin port). The address checked is the one the socket really
    connected to, after DNS, so a name that resolves differently on a second lookup gains
    nothing. It is refused before any request, and so before the API key, is sent (over https
    the TLS handshake has begun by then; it carries neither)."""

    def connect(self):
        super().connect()
        address = ipaddress.ip_address(self.sock.getpeername()[0].split("%")[0])
        if not (address.is_global or settings.SYNC_ALLOW_PRIVATE_ADDRESSES):
            self.close()
            raise SyncFailed(
                f"The source's address {self.host} leads to {address}, a private or reserved network "
                "address; syncs only reach public internet addresses. Use the API's public URL."
            )


class _PublicHTTPConnection(_PublicPeerOnly, http.client.HTTPConnection):
    pass


class _PublicHTTPSConnection(_PublicPeerOnly, http.client.HTTPSConnection):
    pass


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_PublicHTTPSConnection, req, context=self._context)


_OPENER = urllib.request.build_opener(_NoRedirects, _PublicHTTPHandler, _PublicHTTPSHandler)


# --- one run ------------------------------------------------------------------------------------


def sync_run(
    *,
    source: SyncSource,
    since: dt.date | None = None,
    today: dt.date | None = None,
    api_key: str | None = None,
) -> SyncRun:
    """Pull rows dated `since` or later (default: the cursor, else yesterday) and load them.

    `api_key` overrides the stored key (the command passes SALES_API_KEY so it is never stored).
    Never raises for a failed pull: the returned SyncRun says ok, empty or failed, and why."""
    run = SyncRun.objects.create(source=source)
    source.last_run_at = timezone.now()
    SyncSource.objects.filter(pk=source.pk).update(last_run_at=source.last_run_at)
    try:
        _execute(run, source, since, today or timezone.now().astimezone(_zone(source)).date(), api_key)
    except SyncFailed as failure:
        _fail(run, str(failure))
    except Exception:
        logger.exception("Sync run %s of source %s failed unexpectedly", run.pk, source.pk)
        _fail(
            run, f"An unexpected error stopped the run; the details are in the server log under run {run.pk}."
        )
    return run


def _execute(
    run: SyncRun, source: SyncSource, since: dt.date | None, today: dt.date, api_key: str | None
) -> None:
    since = since or _cursor_date(source) or today - dt.timedelta(days=1)
    run.cursor_from = since.isoformat()
    key = _key(source) if api_key is None else api_key
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as handle:
        _fetch_to_csv(run, _first_page_url(source.url, since), key, handle)
        if not run.rows_received:
            _finish_empty(run, source)
            return
        handle.flush()
        handle.buffer.seek(0)
        upload = _receive(source, handle.buffer, today)
    run.upload = upload_process(upload_id=upload.pk)
    _finish_loaded(run, source, run.upload)


def _key(source: SyncSource) -> str:
    try:
        return source_api_key(source)
    except SecretUnreadable as error:
        raise SyncFailed(str(error)) from error


def _cursor_date(source: SyncSource) -> dt.date | None:
    if not source.cursor:
        return None
    try:
        return dt.date.fromisoformat(source.cursor)
    except ValueError as error:
        raise SyncFailed(
            f"The source's cursor “{source.cursor}” is not a date; clear it to restart from yesterday."
        ) from error


def _receive(source: SyncSource, fileobj, today: dt.date) -> Upload:
    tenant = Tenant.objects.get(schema_name=connection.schema_name)
    name = f"sync-{slugify(source.name) or source.pk}-{today:%Y-%m-%d}.csv"
    try:
        # A scheduled sync acts for nobody, so it gets the lowest role; sales need no more.
        return upload_receive(
            fileobj=fileobj,
            request=UploadRequest(
                tenant=tenant,
                original_name=name,
                kind=Upload.Kind.SALES,
                acting_role=User.Role.VIEWER,
                uploaded_by=f"sync:{source.name}",
                via=Upload.Via.SYNC,
            ),
        )
    except FileRefused as refused:
        raise SyncFailed(f"The rows were received but not loaded: {refused}") from refused


# --- fetching -----------------------------------------------------------------------------------


def _first_page_url(url: str, since: dt.date) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise SyncFailed(f"The source's URL must start with http:// or https://, not “{parts.scheme}:”.")
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in {"since", "page"}]
    query += [("since", since.isoformat()), ("page", "1")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _fetch_to_csv(run: SyncRun, url: str, key: str, handle) -> None:
    """Stream every page's records into `handle` as CSV, counting pages and rows on `run`."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(COLUMNS)
    for records in _pages(url, key):
        run.pages += 1
        run.rows_received += len(records)
        if run.rows_received > MAX_ROWS:
            raise SyncFailed(
                f"The API sent more than {MAX_ROWS:,} rows in one run; pull fewer days at a time."
            )
        writer.writerows(_cells(record, run.pages) for record in records)


def _cells(record, page: int) -> list[str]:
    if not isinstance(record, dict):
        raise SyncFailed(f"Page {page} holds a {type(record).__name__} where a sale (a JSON object) belongs.")
    return ["" if record.get(column) is None else str(record[column]) for column in COLUMNS]


def _pages(url: str, key: str):
    """Yield each page's records, following `next` links on the same origin only (the key goes
    with every request, so a link elsewhere must not receive it)."""
    origin = urlsplit(url)[:2]
    for number in range(1, MAX_PAGES + 1):
        records, next_url = _page(_get_json(url, key), number)
        yield records
        if not next_url:
            return
        url = urljoin(url, next_url)
        if urlsplit(url)[:2] != origin:
            raise SyncFailed(
                f"Page {number} links to another site ({urlsplit(url).netloc}); refusing to follow."
            )
    raise SyncFailed(f"The API still had more pages after {MAX_PAGES}; pull fewer days at a time.")


def _page(body, number: int) -> tuple[list, str | None]:
    if isinstance(body, list):  # the predecessor's format: everything in one page
        return body, None
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        next_url = body.get("next")
        if next_url is None or isinstance(next_url, str):
            return body["results"], next_url
    raise SyncFailed(
        f'Page {number} is neither a JSON list of sales nor {{"results": [...], "next": ...}}; '
        "check that the URL points at the sales endpoint."
    )


def _get_json(url: str, key: str):
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _get_once(url, key)
        except _Transient as error:
            if attempt == ATTEMPTS:
                raise SyncFailed(
                    f"The API did not answer properly after {ATTEMPTS} attempts (last: {error}). "
                    "Check that it is up."
                ) from error
            logger.warning("Sync request to %s failed (%s); retrying", urlsplit(url).netloc, error)
            sleep(BASE_DELAY * 2 ** (attempt - 1))


def _get_once(url: str, key: str):
    headers = {"Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    try:
        with _OPENER.open(urllib.request.Request(url, headers=headers), timeout=TIMEOUT) as response:
            raw = response.read(MAX_PAGE_BYTES + 1)
    except urllib.error.HTTPError as error:
        error.close()
        raise _http_error(error) from error
    except (OSError, http.client.HTTPException) as error:  # URLError, timeouts, resets, truncated bodies
        raise _Transient(str(getattr(error, "reason", error)) or type(error).__name__) from error
    if len(raw) > MAX_PAGE_BYTES:
        raise SyncFailed(
            f"A page is larger than {MAX_PAGE_BYTES // 2**20} MB; ask the API for smaller pages."
        )
    try:
        document = json.loads(raw, parse_float=Decimal)  # Decimal keeps 19.99 exactly 19.99
    except RecursionError as error:  # the decoder recurses once per level
        raise _too_deep() from error
    except ValueError as error:
        raise SyncFailed(
            "The API answered with something that is not JSON; check the source's URL."
        ) from error
    if nesting_depth(document) > MAX_JSON_DEPTH:  # deeper values would recurse later, when read
        raise _too_deep()
    return document


def _too_deep() -> SyncFailed:
    return SyncFailed(
        f"The API answered with JSON nested more than {MAX_JSON_DEPTH} levels deep, which no page of "
        "sales is; check the source's URL."
    )


def _http_error(error: urllib.error.HTTPError) -> Exception:
    status = error.code
    if status == 429 or status >= 500:
        return _Transient(f"HTTP {status}")
    if 300 <= status < 400:
        hint = f"it moved to {error.headers.get('Location', 'another address')}; update the source's URL"
    elif status in {401, 403}:
        hint = "check the API key"
    else:
        hint = "check the source's URL"
    return SyncFailed(f"The API refused the request with HTTP {status} {error.reason}; {hint}.")


# --- outcomes -----------------------------------------------------------------------------------


def _finish_loaded(run: SyncRun, source: SyncSource, upload: Upload) -> None:
    if upload.status == Upload.Status.FAILED:
        raise SyncFailed(f"The rows were received but loading failed: {upload.message}")
    if not (upload.inserted + upload.updated + upload.unchanged):
        raise SyncFailed(
            f"None of the {run.rows_received} rows received could be loaded; the error report of upload "
            f"{upload.public_id} says why. Check the API's data format."
        )
    newest = _newest_loaded_date(upload)
    if newest and newest.isoformat() > source.cursor:  # a backfill of older days never moves it back
        source.cursor = newest.isoformat()
        SyncSource.objects.filter(pk=source.pk).update(cursor=source.cursor)
    if upload.rejected:
        run.error = f"{upload.rejected} row(s) rejected; see the error report of upload {upload.public_id}."
    _close(run, SyncRun.Status.OK, source)
    _alerts_clear(run, Alert.Kind.SYNC_FAILED, Alert.Kind.SYNC_EMPTY)


def _newest_loaded_date(upload: Upload) -> dt.date | None:
    """The newest date among rows the pipeline accepted (rejected rows do not move the cursor)."""
    newest = upload.summary.get("newest_date")
    return dt.date.fromisoformat(newest) if newest else None


def _finish_empty(run: SyncRun, source: SyncSource) -> None:
    _close(run, SyncRun.Status.EMPTY, source)
    _alerts_clear(run, Alert.Kind.SYNC_FAILED, *([] if source.expect_rows else [Alert.Kind.SYNC_EMPTY]))
    if source.expect_rows:
        _alert(
            run,
            Alert.Kind.SYNC_EMPTY,
            f"Sales sync “{source.name}” returned no rows dated {run.cursor_from} or later. Check that the "
            "API still records sales and that the source's URL is right; if quiet days are normal, "
            "turn off “expect rows”.",
        )


def _fail(run: SyncRun, error: str) -> None:
    run.error = error
    _close(run, SyncRun.Status.FAILED, run.source)
    cursor = run.source.cursor
    retry = (
        f"The cursor stays at {cursor}, so the next run asks again from that date."
        if cursor
        else "There is no cursor yet: if this lasts, pull the missed days with the sync_sales command."
    )
    _alert(run, Alert.Kind.SYNC_FAILED, f"Sales sync “{run.source.name}” failed: {error} {retry}")


def _close(run: SyncRun, status: str, source: SyncSource) -> None:
    run.status = status
    run.cursor_to = source.cursor
    run.finished_at = timezone.now()
    run.save()


def _alert(run: SyncRun, kind: str, message: str) -> None:
    logger.warning("Sync alert (%s) for run %s: %s", kind, run.pk, message)
    Alert.objects.create(kind=kind, message=message, sync_run=run)
    problem_raise(kind=kind, subject=_alert_subject(run), message=message)


def _alerts_clear(run: SyncRun, *kinds: str) -> None:
    """The source answered again: its open alerts of these kinds are over."""
    for kind in kinds:
        problem_clear(kind=kind, subject=_alert_subject(run))


def _alert_subject(run: SyncRun) -> str:
    return f"source-{run.source_id}"


# --- schedule -----------------------------------------------------------------------------------


def sync_due_sources(*, now: dt.datetime | None = None) -> list[SyncRun]:
    """Run every enabled source whose local hour had come at `now` (default: now) and that had
    not run that day (local). Called hourly in each tenant's schema, so each source runs once a
    day at its hour, even when the call waited for the tenant's ingest slot past that hour."""
    now = now or timezone.now()
    runs = []
    for source in SyncSource.objects.filter(enabled=True):
        if _due(source, now) and _claim(source):
            runs.append(sync_run(source=source))
    return runs


def _due(source: SyncSource, now: dt.datetime) -> bool:
    zone = _zone(source)
    local = now.astimezone(zone)
    day_start = dt.datetime.combine(local.date(), dt.time.min, tzinfo=zone)
    return local.hour == source.hour and (source.last_run_at is None or source.last_run_at < day_start)


def _claim(source: SyncSource) -> bool:
    """Only one of two dispatches racing for the same source (a redelivered message) runs it."""
    claimed = SyncSource.objects.filter(pk=source.pk, last_run_at=source.last_run_at).update(
        last_run_at=timezone.now()
    )
    return claimed == 1


def _zone(source: SyncSource) -> ZoneInfo:
    try:
        return ZoneInfo(source.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        # Better to sync at the right hour in UTC than not at all.
        logger.warning("Sync source %s has unknown time zone %r; using UTC", source.pk, source.timezone)
        return ZoneInfo("UTC")
