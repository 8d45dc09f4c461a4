"""CI's production smoke test: the Procfile's release and web processes on production settings.

    python scripts/smoke_production.py        (`make smoke-production`, which provides the servers
                                               and runs it on requirements/production.txt alone)

With the environment the README documents for production, on a scratch database of the
DATABASE_URL server and a temporary STATIC_ROOT, it runs the Procfile's `release` command
(collectstatic, then bootstrap seeding the demo tenant) and its `web` command (gunicorn), then
checks what a browser behind the TLS-terminating proxy gets:

* GET /login/ on the demo tenant's host with X-Forwarded-Proto: https answers 200 with HSTS, the
  Content-Security-Policy and a Secure CSRF cookie; the stylesheet it links has a hashed name
  from the manifest and is served; signing in sets a Secure session cookie;
* the same request over plain HTTP is redirected to HTTPS; the liveness probe is not;
* `manage.py check --deploy --fail-level WARNING` reports nothing.

It prints each check and exits non-zero at the first failure, removing what it made either way.
"""

import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg

REPO = Path(__file__).resolve().parent.parent
TENANT_HOST = "demo.localhost"
HTTPS = {"X-Forwarded-Proto": "https"}
DEMO_PASSWORD = "smoke-test-password-2026"


class SmokeFailure(Exception):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SmokeFailure(what)
    print(f"smoke-production: ok: {what}", flush=True)


def fetch(
    base_url: str, path: str, host: str, method: str = "GET", body: str | None = None, **headers: str
) -> tuple[http.client.HTTPResponse, str]:
    """One request with this Host header; redirects are not followed."""
    server = urlsplit(base_url)
    connection = http.client.HTTPConnection(server.hostname, server.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers={"Host": host, **headers})
        response = connection.getresponse()
        return response, response.read().decode()
    finally:
        connection.close()


def procfile_command(process: str) -> str:
    for line in (REPO / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return command.strip()
    raise SmokeFailure(f"the Procfile has no {process!r} process")


@contextmanager
def scratch_database(server_url: str):
    """A new, empty database on the DATABASE_URL server; dropped afterwards."""
    name = f"pulse_smoke_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_environment(database_url: str, workdir: Path) -> dict:
    """The documented production environment, plus what a smoke run needs (demo data, folders)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database_url,
        "PULSE_BASE_DOMAIN": "localhost",
        "STATIC_ROOT": str(workdir / "static"),
        "MEDIA_ROOT": str(workdir / "media"),
        "SEED_DEMO_DATA": "true",
        "DEMO_ADMIN_PASSWORD": DEMO_PASSWORD,
        "PORT": str(free_port()),
        "WEB_CONCURRENCY": "2",
    }


@contextmanager
def web_process(env: dict):
    process = subprocess.Popen(["sh", "-c", "exec " + procfile_command("web")], cwd=REPO, env=env)
    base_url = f"http://127.0.0.1:{env['PORT']}"
    try:
        wait_until_serving(base_url, process)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=60)


def wait_until_serving(base_url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            fetch(base_url, "/api/ping/", "localhost")
            return
        except OSError:
            time.sleep(0.3)
    raise SmokeFailure("the web process did not start serving")


def check_login_page(base_url: str) -> str:
    """The login page over the proxy's HTTPS, its headers and its stylesheet; returns the CSRF cookie."""
    response, page = fetch(base_url, "/login/", TENANT_HOST, **HTTPS)
    check(response.status == 200, f"GET /login/ on {TENANT_HOST} over the proxy's HTTPS answers 200")
    hsts = response.getheader("Strict-Transport-Security") or ""
    check("max-age=31536000" in hsts and "includeSubDomains" in hsts, f"HSTS is sent: {hsts}")
    policy = response.getheader("Content-Security-Policy") or ""
    check("default-src 'self'" in policy and "unsafe-inline" not in policy, f"the CSP is sent: {policy}")
    cookie = response.getheader("Set-Cookie") or ""
    check(cookie.startswith("csrftoken=") and "; Secure" in cookie, "the CSRF cookie is Secure")
    stylesheet = re.search(r'<link rel="stylesheet" href="(/static/css/pulse\.[0-9a-f]{12}\.css)"', page)
    check(stylesheet is not None, "the page links its stylesheet by its hashed manifest name")
    css, _ = fetch(base_url, stylesheet.group(1), TENANT_HOST, **HTTPS)
    check(
        css.status == 200 and css.getheader("Content-Type", "").startswith("text/css"),
        "the stylesheet is served",
    )
    return cookie.split(";", 1)[0]


def check_sign_in(base_url: str, csrf_cookie: str) -> None:
    token = csrf_cookie.partition("=")[2]
    form = urlencode({"username": "admin", "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token})
    headers = {
        "Cookie": csrf_cookie,
        "Referer": f"https://{TENANT_HOST}/login/",  # Django checks it on HTTPS requests
        "Content-Type": "application/x-www-form-urlencoded",
        **HTTPS,
    }
    response, _ = fetch(base_url, "/login/", TENANT_HOST, method="POST", body=form, **headers)
    cookies = response.headers.get_all("Set-Cookie") or []
    session = [cookie for cookie in cookies if cookie.startswith("sessionid=")]
    check(response.status == 302 and len(session) == 1, "signing in over the proxy's HTTPS works")
    check(
        "; Secure" in session[0] and "; HttpOnly" in session[0], "the session cookie is Secure and HttpOnly"
    )


def check_plain_http(base_url: str) -> None:
    response, _ = fetch(base_url, "/login/", TENANT_HOST)
    location = response.getheader("Location")
    check(
        response.status == 301 and location == f"https://{TENANT_HOST}/login/",
        "plain HTTP is redirected to HTTPS",
    )
    response, _ = fetch(base_url, "/api/ping/", TENANT_HOST)
    check(response.status == 200, "the liveness probe answers plain HTTP")


def check_deploy(env: dict) -> None:
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    print(result.stdout + result.stderr, end="")
    check(result.returncode == 0 and "no issues" in result.stdout, "manage.py check --deploy: no warning")


def main() -> int:
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        print("smoke-production: set DATABASE_URL (make smoke-production does)", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory() as workdir, scratch_database(server_url) as database_url:
            env = production_environment(database_url, Path(workdir))
            release = subprocess.run(["sh", "-c", procfile_command("release")], cwd=REPO, env=env)
            check(release.returncode == 0, "the Procfile's release step runs (collectstatic, bootstrap)")
            with web_process(env) as base_url:
                csrf_cookie = check_login_page(base_url)
                check_sign_in(base_url, csrf_cookie)
                check_plain_http(base_url)
            check_deploy(env)
    except SmokeFailure as failure:
        print(f"smoke-production: FAILED: {failure}", file=sys.stderr)
        return 1
    print("smoke-production: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
