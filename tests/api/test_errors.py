"""Every failure under /api/ answers in the one JSON error shape, whatever produced it: the
router (unknown paths, unknown hosts), the parsers (malformed, deeply nested or oversized
bodies), Django (methods, CSRF) or an unexpected exception (500 without a traceback)."""

import http.client
import socket
from urllib.parse import urlsplit

import pytest
from django.test import Client, override_settings
from django_tenants.utils import schema_context

from tests.api.helpers import api, error_of, new_key
from tests.conftest import host_client
from tests.live_server import gunicorn
from tests.playbooks.factories import ExecutionFactory, catalog_playbook

NESTED_1000 = "[" * 1000 + "]" * 1000


def nested_object(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


def execution_id(tenant) -> str:
    with schema_context(tenant.schema_name):
        return str(ExecutionFactory(playbook=catalog_playbook("voc_sprint")).pk)


@pytest.mark.parametrize("host", ["alice", None])
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_api_path_is_a_json_404_on_tenant_and_base_hosts(alice, host, method):
    response = getattr(api(new_key(alice), host), method)("/api/v1/no-such-thing/")

    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "not_found"
    assert "/api/v1/no-such-thing/" in error["message"] and "/api/docs/" in error["message"]


def test_an_api_path_on_an_unknown_host_is_a_json_404_naming_the_host(public):
    response = host_client("nobody-here").get("/api/v1/me/")

    assert response.status_code == 404
    assert "nobody-here.localhost" in error_of(response)["message"]
    assert "There is no Pulse workspace" in host_client("nobody-here").get("/").content.decode()


def test_a_method_an_endpoint_does_not_take_is_a_json_405(alice):
    client = api(new_key(alice))

    for response in (client.delete("/api/v1/triggers/"), client.post("/api/ping/")):
        assert response.status_code == 405
        assert error_of(response)["code"] == "method_not_allowed"
    assert "GET" in error_of(client.post("/api/ping/"))["message"]


def test_malformed_json_is_a_400_that_says_where(alice):
    response = api(new_key(alice)).post(
        "/api/v1/triggers/", '{"playbook": "voc_sprint",', content_type="application/json"
    )

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "parse_error"
    assert "not valid JSON" in error["message"] and "line 1" in error["message"]


@pytest.mark.parametrize("body", [NESTED_1000, nested_object(40)], ids=["1000-arrays", "40-objects"])
def test_deeply_nested_json_is_a_400_on_triggers_executions_and_step_completion(alice, body):
    client = api(new_key(alice))
    paths = [
        "/api/v1/triggers/",
        "/api/v1/executions/",
        f"/api/v1/executions/{execution_id(alice)}/steps/1/complete",
    ]

    for path in paths:
        response = client.post(path, body, content_type="application/json")
        assert response.status_code == 400, (path, response.content[:200])
        assert "nested" in error_of(response)["message"]


def test_json_nested_within_the_limit_still_reaches_validation(alice):
    response = api(new_key(alice)).post(
        "/api/v1/triggers/", nested_object(5), content_type="application/json"
    )

    assert response.status_code == 400 and "playbook" in error_of(response)["fields"]


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2**20)
def test_json_and_form_bodies_over_the_limit_are_a_413(alice):
    client = api(new_key(alice))
    text = "x" * (2**20 + 1)

    responses = [
        client.post("/api/v1/triggers/", '{"notes": "' + text + '"}', content_type="application/json"),
        client.post("/api/v1/triggers/", {"notes": text}),  # multipart form fields
        client.post("/api/v1/triggers/", "notes=" + text, content_type="application/x-www-form-urlencoded"),
    ]
    for response in responses:
        assert response.status_code == 413, response.content[:200]
        error = error_of(response)
        assert error["code"] == "too_large" and "1.0 MB" in error["message"]


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=2)
def test_too_many_form_fields_is_a_400_naming_the_limit(alice):
    response = api(new_key(alice)).post("/api/v1/triggers/", {f"field{n}": "x" for n in range(5)})

    assert response.status_code == 400
    assert "more than 2 form fields" in error_of(response)["message"]


def test_a_chunked_body_is_refused_with_411_instead_of_being_read_as_empty(alice):
    response = api(new_key(alice)).post(
        "/api/v1/triggers/", "{}", content_type="application/json", HTTP_TRANSFER_ENCODING="chunked"
    )

    assert response.status_code == 411
    assert "Content-Length" in error_of(response)["message"]


def test_an_unexpected_failure_is_a_json_500_without_a_traceback(alice, monkeypatch):
    def broken(usage):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("api.views.UsageSerializer", broken)
    client = Client(
        raise_request_exception=False,
        HTTP_HOST="alice.localhost",
        HTTP_AUTHORIZATION=f"Token {new_key(alice)}",
    )

    response = client.get("/api/v1/usage/")

    assert response.status_code == 500
    assert error_of(response)["code"] == "server_error"
    assert b"secret internals" not in response.content and b"Traceback" not in response.content


def test_portal_pages_keep_their_html_error_pages(alice):
    response = host_client("alice").get("/no-such-page/")

    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


# --- what gunicorn refuses itself, before Pulse sees the request (README: API) ------------------


def raw_status(base_url: str, request: bytes) -> int:
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status


def test_requests_gunicorn_refuses_itself_get_the_documented_statuses_and_the_server_goes_on(
    committed_tenants,
):
    key = new_key(committed_tenants("alice"))
    head = f"Host: alice.localhost\r\nAuthorization: Token {key}\r\n"
    many_headers = "".join(f"X-Extra-{n}: 1\r\n" for n in range(101))

    with gunicorn(workers=1, threads=1) as base_url:
        statuses = {
            "request line over 4094 bytes": raw_status(
                base_url, f"GET /api/v1/me/?q={'x' * 4100} HTTP/1.1\r\n{head}\r\n".encode()
            ),
            "more than 100 headers": raw_status(
                base_url, f"GET /api/v1/me/ HTTP/1.1\r\n{head}{many_headers}\r\n".encode()
            ),
            "a header over 8190 bytes": raw_status(
                base_url, f"GET /api/v1/me/ HTTP/1.1\r\n{head}X-Big: {'x' * 8200}\r\n\r\n".encode()
            ),
            "not HTTP": raw_status(base_url, b"HELLO\r\n\r\n"),
            "then a good request": raw_status(base_url, f"GET /api/v1/me/ HTTP/1.1\r\n{head}\r\n".encode()),
        }

    assert statuses == {
        "request line over 4094 bytes": 414,
        "more than 100 headers": 431,
        "a header over 8190 bytes": 431,
        "not HTTP": 400,
        "then a good request": 200,
    }
