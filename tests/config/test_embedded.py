"""A command run by hand finds the embedded servers of a running `make run` (config/embedded.py),
never a stale record, and an environment variable always wins."""

import importlib.util
import socket
import tempfile
from pathlib import Path

import pytest

from config import embedded
from tests.live_server import free_port as closed_port

ENV_MODULE = Path(embedded.__file__).with_name("env.py")
LOCAL_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/pulse"


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    """Where the launcher records its URLs, one file per variable."""
    monkeypatch.setattr(embedded, "STATE_DIR", tmp_path)
    return tmp_path


@pytest.fixture
def socket_dir():
    """A short directory: Unix socket paths are limited to about 100 bytes."""
    with tempfile.TemporaryDirectory(prefix="pg", dir="/tmp") as directory:
        yield Path(directory)


def unix_socket(path: Path, *, listening: bool) -> socket.socket:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    if listening:
        server.listen()
    return server


def settings_read() -> object:
    """config/env.py evaluated afresh, leaving the module the running settings came from alone."""
    spec = importlib.util.spec_from_file_location("env_under_test", ENV_MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_it_finds_the_valkey_a_running_devstack_recorded(state_dir, tcp_server):
    (state_dir / "REDIS_URL").write_text(f"redis://127.0.0.1:{tcp_server}/0\n")

    assert embedded.running_url("REDIS_URL") == f"redis://127.0.0.1:{tcp_server}/0"


def test_it_finds_postgres_listening_on_the_unix_socket_of_the_recorded_url(state_dir, socket_dir):
    url = f"postgresql://postgres:@/pulse?host={socket_dir}"
    (state_dir / "DATABASE_URL").write_text(url + "\n")

    with unix_socket(socket_dir / ".s.PGSQL.5432", listening=True):
        assert embedded.running_url("DATABASE_URL") == url


def test_it_ignores_a_record_whose_valkey_is_gone(state_dir):
    (state_dir / "REDIS_URL").write_text(f"redis://127.0.0.1:{closed_port()}/0\n")

    assert embedded.running_url("REDIS_URL") == ""


def test_it_ignores_a_record_whose_postgres_was_killed(state_dir, socket_dir):
    # A killed server leaves its socket file behind, with nobody accepting on it.
    (state_dir / "DATABASE_URL").write_text(f"postgresql://postgres:@/pulse?host={socket_dir}\n")

    with unix_socket(socket_dir / ".s.PGSQL.5432", listening=False):
        assert embedded.running_url("DATABASE_URL") == ""


def test_without_a_record_there_is_no_running_devstack(state_dir):
    assert embedded.running_url("DATABASE_URL") == ""


def test_settings_use_the_running_devstack_when_the_variables_are_unset(state_dir, tcp_server, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    recorded = f"redis://127.0.0.1:{tcp_server}/0"
    (state_dir / "REDIS_URL").write_text(recorded + "\n")

    assert recorded == settings_read().REDIS_URL


def test_an_environment_variable_wins_over_a_running_devstack(state_dir, tcp_server, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://cache.example.com:6379/2")
    (state_dir / "REDIS_URL").write_text(f"redis://127.0.0.1:{tcp_server}/0\n")

    assert settings_read().REDIS_URL == "redis://cache.example.com:6379/2"


def test_with_nothing_running_settings_keep_the_local_default(state_dir, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    (state_dir / "DATABASE_URL").write_text(f"postgresql://postgres@127.0.0.1:{closed_port()}/pulse\n")

    assert settings_read().DATABASE_URL == LOCAL_DATABASE_URL
