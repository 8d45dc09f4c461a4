"""scripts/devstack.py, the launcher behind `make run` and `make test`: a Ctrl-C is a clean stop,
and the URLs it records are where commands run by hand look for them."""

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from config import embedded

REPO = Path(__file__).resolve().parent.parent.parent
LAUNCHER = REPO / "scripts" / "devstack.py"
# Stands in for honcho: on Ctrl-C it stops and exits 130, as honcho does.
SERVERS = (
    "import os, signal, time\n"
    "signal.signal(signal.SIGINT, lambda *_: os._exit(130))\n"
    "print(os.getpid(), flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.fixture
def devstack():
    spec = importlib.util.spec_from_file_location("devstack", LAUNCHER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ctrl_c_stops_the_command_and_the_launcher_reports_no_error():
    # Servers configured, so the launcher starts none and only runs the command.
    configured = {
        **os.environ,
        "DATABASE_URL": "postgresql://db.invalid/x",
        "REDIS_URL": "redis://db.invalid/0",
    }
    launcher = subprocess.Popen(
        [sys.executable, str(LAUNCHER), "--", sys.executable, "-c", SERVERS],
        env=configured,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    command_pid = int(launcher.stdout.readline())

    os.killpg(launcher.pid, signal.SIGINT)  # what the terminal does on Ctrl-C: the whole group

    assert launcher.wait(timeout=30) == 0  # so make, which got the Ctrl-C too, prints no "Error 130"
    with pytest.raises(ProcessLookupError):
        os.kill(command_pid, 0)


def test_the_launcher_records_urls_where_commands_look_for_them(devstack):
    assert devstack.STATE_DIR == embedded.STATE_DIR


def test_a_recorded_url_is_found_until_the_launcher_withdraws_it(devstack, tcp_server, tmp_path, monkeypatch):
    monkeypatch.setattr(devstack, "STATE_DIR", tmp_path)
    monkeypatch.setattr(embedded, "STATE_DIR", tmp_path)
    url = f"redis://127.0.0.1:{tcp_server}/0"

    devstack.url_record("REDIS_URL", url)
    assert embedded.running_url("REDIS_URL") == url

    devstack.url_withdraw("REDIS_URL")
    assert embedded.running_url("REDIS_URL") == ""
    assert list(tmp_path.iterdir()) == []
