"""Production settings: static files collected and served, HTTPS behind a TLS-terminating proxy,
secure cookies, HSTS and CSP without opting in, and `check --deploy` without a warning.

Each test runs the real thing under config.settings.production in a subprocess: collectstatic,
`manage.py check`, or a gunicorn on the test database.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from scripts.smoke_production import fetch
from tests.celery_worker import REPO
from tests.live_server import gunicorn

PRODUCTION = "config.settings.production"
SECRET = "production-test-key-Zq7Xw2Lp9Rt4Vb8Nm3Kd6Hs1Jf5Gc0Ya"


def production_env(**overrides: str) -> dict:
    """The environment the README documents for production, plus overrides."""
    return {
        "DJANGO_SETTINGS_MODULE": PRODUCTION,
        "SECRET_KEY": SECRET,
        "PULSE_BASE_DOMAIN": "localhost",
        **overrides,
    }


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


BEHIND_TLS_PROXY = {"X-Forwarded-Proto": "https"}


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("staticfiles")
    collect = manage("collectstatic", "--noinput", env=production_env(STATIC_ROOT=str(root)))
    assert collect.returncode == 0, collect.stderr
    return root


@pytest.fixture(scope="module")
def production_server(static_root, django_db_setup):
    with gunicorn(
        workers=1, threads=2, settings=PRODUCTION, env=production_env(STATIC_ROOT=str(static_root))
    ) as url:
        yield url


@pytest.fixture
def alice_host(committed_tenants):
    committed_tenants("alice")
    return "alice.localhost"


def test_collectstatic_writes_the_manifest_production_serves_from(static_root):
    paths = json.loads((static_root / "staticfiles.json").read_text())["paths"]

    assert {"css/pulse.css", "vendor/chart.umd.min.js", "vendor/htmx.min.js", "js/charts.js"} <= set(paths)


def test_the_login_page_is_served_with_its_hashed_stylesheet(production_server, alice_host):
    response, page = fetch(production_server, "/login/", alice_host, **BEHIND_TLS_PROXY)
    assert response.status == 200, page

    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', page).group(1)
    assert re.fullmatch(r"/static/css/pulse\.[0-9a-f]{12}\.css", stylesheet)
    css, body = fetch(production_server, stylesheet, alice_host, **BEHIND_TLS_PROXY)
    assert css.status == 200
    assert css.getheader("Content-Type").startswith("text/css")
    assert ".topbar" in body


def test_https_responses_carry_hsts_csp_and_secure_cookies_without_opting_in(production_server, alice_host):
    response, _ = fetch(production_server, "/login/", alice_host, **BEHIND_TLS_PROXY)

    assert response.getheader("Strict-Transport-Security") == "max-age=31536000; includeSubDomains; preload"
    policy = response.getheader("Content-Security-Policy")
    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    csrf_cookie = response.getheader("Set-Cookie")
    assert csrf_cookie.startswith("csrftoken=") and "; Secure" in csrf_cookie


def test_a_plain_http_request_is_redirected_to_https(production_server, alice_host):
    response, _ = fetch(production_server, "/login/?next=/accounts/", alice_host)

    assert response.status == 301
    assert response.getheader("Location") == "https://alice.localhost/login/?next=/accounts/"


def test_the_forwarded_proto_header_of_the_proxy_is_honoured(production_server, alice_host):
    """Only the proxy's header makes a request secure: anything else is redirected."""
    for proto, status in (("https", 200), ("http", 301)):
        response, _ = fetch(production_server, "/login/", alice_host, **{"X-Forwarded-Proto": proto})
        assert response.status == status, proto


def test_the_liveness_probe_answers_plain_http_for_load_balancers(production_server, alice_host):
    response, body = fetch(production_server, "/api/ping/", alice_host)

    assert response.status == 200
    assert json.loads(body) == {"status": "ok"}


def test_check_deploy_reports_no_warning():
    check = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())

    assert check.returncode == 0, check.stdout + check.stderr
    assert "System check identified no issues" in check.stdout


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SECRET_KEY", "", "SECRET_KEY is empty"),
        ("SECURE_HSTS_SECONDS", "a year", "SECURE_HSTS_SECONDS"),
        ("SECURE_HSTS_SECONDS", "-1", "SECURE_HSTS_SECONDS"),
        ("SECURE_HSTS_SECONDS", "3600", "SECURE_HSTS_PRELOAD"),
    ],
)
def test_production_refuses_to_start_with_a_missing_or_bad_setting(variable, value, message):
    check = manage("check", env=production_env(**{variable: value}))

    assert check.returncode != 0
    assert "ImproperlyConfigured" in check.stderr and message in check.stderr
