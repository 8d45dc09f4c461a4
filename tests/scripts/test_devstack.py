"""scripts/devstack.py, the launcher behind `make run` and `make test`: the URLs it records are
where commands run by hand look for them."""

import importlib.util
from pathlib import Path

import pytest

from config import embedded

REPO = Path(__file__).resolve().parent.parent.parent
LAUNCHER = REPO / "scripts" / "devstack.py"


@pytest.fixture
def devstack():
    spec = importlib.util.spec_from_file_location("devstack", LAUNCHER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
