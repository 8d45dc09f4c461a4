"""The embedded servers of a running `make run`, for commands typed in another terminal.

scripts/devstack.py starts an embedded PostgreSQL and Valkey when DATABASE_URL / REDIS_URL are
unset and hands their URLs to the command it runs. While such a server runs, the launcher also
keeps its URL in var/devstack/<VARIABLE>, so that `.venv/bin/python manage.py ...` run by hand
reaches the same servers. A launcher killed with SIGKILL cannot remove those files, so a URL
counts only while a server accepts connections at its address.

No Django here: config/env.py uses it while settings are being read.
"""

import socket
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

STATE_DIR = Path(__file__).resolve().parent.parent / "var" / "devstack"
# PostgreSQL names its socket after the port it would listen on; the embedded one keeps the default.
POSTGRES_DEFAULT_PORT = 5432
CONNECT_TIMEOUT = 1.0  # seconds; the servers are local, so an answer comes at once or never


def running_url(variable: str) -> str:
    """The URL a running launcher provides for `variable`, or "" when none does."""
    try:
        url = (STATE_DIR / variable).read_text().strip()
    except FileNotFoundError:
        return ""
    return url if url and accepts_connections(url) else ""


def accepts_connections(url: str) -> bool:
    """True if a server accepts connections at the URL's address: the Unix socket in the `host`
    directory of a PostgreSQL URL (how the embedded server listens), else host:port over TCP."""
    parts = urlsplit(url)
    socket_dir = parse_qs(parts.query).get("host", [""])[0]
    if socket_dir.startswith("/"):
        family = socket.AF_UNIX
        address = f"{socket_dir}/.s.PGSQL.{parts.port or POSTGRES_DEFAULT_PORT}"
    else:
        family, address = socket.AF_INET, (parts.hostname, parts.port)
    with socket.socket(family) as probe:
        probe.settimeout(CONNECT_TIMEOUT)
        try:
            probe.connect(address)
        except OSError:
            return False
    return True
