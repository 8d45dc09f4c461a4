"""Uploads over INGEST_MAX_UPLOAD_MB are refused while they stream in: the server stops reading
at the limit (or before the file, when Content-Length shows it cannot fit), keeps no partial
file in temporary storage or MEDIA_ROOT, and every way in says why."""

import contextlib
import http.client
import itertools
import json
import os
import select
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.test import override_settings
from django_tenants.utils import schema_context

from ingest.models import Upload
from tenants.selectors import usage_summary
from tests.api.helpers import api, error_of, new_key
from tests.conftest import signed_in_client
from tests.ingest.conftest import KPI_HEADER, named
from tests.live_server import gunicorn

BOUNDARY = "pulse-test-boundary"
ROWS = b"ACC-1,nps,2026-10,30\n" * 3000  # 63 KB
MB = 2**20


def multipart_start(kind: str = "kpis") -> bytes:
    """The form fields, then the file part's headers; the file's bytes follow."""
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n{kind}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\n"
    ).encode() + KPI_HEADER.encode()


def folder_bytes(folder: Path) -> int:
    total = 0
    for root, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(FileNotFoundError):  # deleted while we looked
                total += os.path.getsize(os.path.join(root, name))
    return total


@contextmanager
def peak_size(folder: Path):
    """Samples the folder's size while the block runs; yields a list holding the peak."""
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], folder_bytes(folder))
            done.wait(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()


class RawUpload:
    """A raw HTTP upload to the live server, sent piece by piece like a slow client's."""

    def __init__(self, base_url: str, key: str, headers: dict[str, str], chunked: bool = False):
        url = urlsplit(base_url)
        self.sock = socket.create_connection((url.hostname, url.port), timeout=30)
        self.chunked = chunked
        head = ["POST /api/v1/uploads/ HTTP/1.1", "Host: alice.localhost", f"Authorization: Token {key}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())

    def send(self, *pieces: bytes) -> None:
        for piece in pieces:
            self.sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if self.chunked else piece)

    def send_until_answered(self, pieces) -> tuple[int | None, dict | None]:
        """Sends until the server answers or stops reading, then reads its answer: (status, JSON
        body), or (None, None) when the connection was reset before the answer could be read."""
        try:
            for piece in pieces:
                if select.select([self.sock], [], [], 0)[0]:
                    break
                self.send(piece)
        except OSError:  # the server stopped reading and closed; its answer may still be readable
            pass
        with self.sock:
            response = http.client.HTTPResponse(self.sock)
            try:
                response.begin()
                return response.status, json.loads(response.read())
            except (ConnectionResetError, http.client.RemoteDisconnected):
                return None, None


def multipart_headers(length: int | None = None) -> dict[str, str]:
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    return headers | ({"Content-Length": str(length)} if length else {"Transfer-Encoding": "chunked"})


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def logged_statuses(log: Path) -> list[str]:
    """The statuses gunicorn logged for uploads; it logs once the answer is sent, so wait for it."""

    def statuses():
        lines = log.read_text().splitlines()
        return [line.split('" ')[1].split()[0] for line in lines if "/api/v1/uploads/" in line]

    wait_for(statuses, "the access log")
    return statuses()


@pytest.fixture
def server(committed_tenants, tmp_path):
    """A gunicorn like production's (sync worker) with a 1 MB limit, its temporary files and media
    in folders of this test, and an access log of the statuses it answered."""
    tenant = committed_tenants("alice")
    folders = {"tmp": tmp_path / "server-tmp", "media": tmp_path / "server-media"}
    for folder in folders.values():
        folder.mkdir()
    environment = {
        "INGEST_MAX_UPLOAD_MB": "1",
        "TMPDIR": str(folders["tmp"]),
        "MEDIA_ROOT": str(folders["media"]),
    }
    log = tmp_path / "access.log"
    with gunicorn(workers=1, threads=1, env=environment, access_log=log) as base_url:
        yield base_url, new_key(tenant), folders, log
    with schema_context("alice"):
        assert not Upload.objects.exists()
    assert usage_summary(tenant)["documents"] == 0


def assert_refused_over_the_limit(answer, log: Path):
    status, body = answer
    assert logged_statuses(log) == ["413"]
    if status is not None:  # else reset before we could read it; the log shows what was answered
        assert status == 413
        assert body["error"]["code"] == "too_large"
        assert "The file is over the 1.0 MB upload limit" in body["error"]["message"]


def test_a_body_declared_far_over_the_limit_is_refused_before_its_file_is_read(server):
    base_url, key, folders, log = server
    upload = RawUpload(base_url, key, multipart_headers(length=2**30))  # 1 GB

    with peak_size(folders["tmp"]) as peak:
        answer = upload.send_until_answered(
            itertools.chain([multipart_start()], itertools.repeat(ROWS, 64 * MB // len(ROWS)))
        )

    assert_refused_over_the_limit(answer, log)
    assert peak[0] == 0
    assert folder_bytes(folders["tmp"]) == 0 and folder_bytes(folders["media"]) == 0


def test_a_file_over_the_limit_is_cut_off_at_the_limit_while_it_streams(server):
    # A body within a form's overhead of the limit may hold a file just under it, so only
    # counting tells. Over 5 MB (Django's in-memory size) the file streams to a temporary file.
    base_url, key, folders, log = server
    pieces = [multipart_start()] + [ROWS] * (5 * MB // len(ROWS) + 8) + [f"\r\n--{BOUNDARY}--\r\n".encode()]
    upload = RawUpload(base_url, key, multipart_headers(length=sum(map(len, pieces))))

    with peak_size(folders["tmp"]) as peak:
        upload.send(*pieces[:8])  # half a megabyte
        wait_for(lambda: folder_bytes(folders["tmp"]) > 0, "the file to stream to a temporary file")
        answer = upload.send_until_answered(pieces[8:])

    assert_refused_over_the_limit(answer, log)
    assert peak[0] <= 1 * MB
    assert folder_bytes(folders["tmp"]) == 0 and folder_bytes(folders["media"]) == 0


def test_a_chunked_body_is_refused_before_it_is_read(server):
    base_url, key, folders, log = server
    upload = RawUpload(base_url, key, multipart_headers(), chunked=True)

    with peak_size(folders["tmp"]) as peak:
        status, body = upload.send_until_answered(
            itertools.chain([multipart_start()], itertools.repeat(ROWS, 256))
        )

    assert logged_statuses(log) == ["411"]
    assert status is None or (status == 411 and "Content-Length" in body["error"]["message"])
    assert peak[0] == 0 and folder_bytes(folders["media"]) == 0


# --- every way in says why (Django's test client) ------------------------------------------------

LIMIT_1KB = override_settings(INGEST_MAX_UPLOAD_BYTES=1024)
BIG = KPI_HEADER + "ACC-1,nps,2026-10,30\n" * 200  # 4 KB


@pytest.fixture(params=["streamed", "declared"])
def over_the_limit(request):
    """Cut off while counting, or refused up front because Content-Length cannot fit."""
    overhead = 2048 if request.param == "declared" else 5 * MB
    with LIMIT_1KB, override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=overhead):
        yield


@pytest.mark.parametrize("path", ["/api/v1/uploads/", "/api/upload"])
def test_the_api_answers_413_with_the_limit(alice, over_the_limit, path):
    response = api(new_key(alice)).post(path, {"kind": "kpis", "file": named(BIG, "big.csv")})

    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "too_large" and "The file is over the 1.0 KB upload limit" in error["message"]
    with schema_context("alice"):
        assert not Upload.objects.exists()


def test_the_portal_shows_the_limit_as_the_files_error(alice, over_the_limit):
    response = signed_in_client("alice").post("/data/", {"kind": "kpis", "file": named(BIG, "big.csv")})

    page = response.content.decode()
    assert response.status_code == 200
    assert "The file is over the 1.0 KB upload limit" in page and "This field is required" not in page
    with schema_context("alice"):
        assert not Upload.objects.exists()


def test_the_admin_import_shows_the_limit_as_the_files_error(alice, over_the_limit):
    response = signed_in_client("alice").post(
        "/admin/kpis/account/import/", {"resource": "0", "import_file": named(BIG, "big.csv"), "format": "0"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "The file is over the 1.0 KB upload limit" in page and "This field is required" not in page


@LIMIT_1KB
def test_a_file_within_the_limit_still_uploads(alice):
    response = api(new_key(alice)).post(
        "/api/v1/uploads/", {"kind": "kpis", "file": named(KPI_HEADER, "ok.csv")}
    )

    assert response.status_code == 202
