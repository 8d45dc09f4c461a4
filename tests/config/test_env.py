"""Throttling settings are read strictly: a bad value stops startup with a sentence."""

import os
import subprocess
import sys

import pytest

from tests.celery_worker import REPO

NAMES = ("LOGIN_FAILURE_LIMIT", "LOGIN_COOLOFF_MINUTES", "TRUSTED_PROXY_COUNT", "REGISTRATIONS_PER_HOUR")


def start_with(**variables) -> subprocess.CompletedProcess:
    """Import config.env in a fresh interpreter, as a process start would."""
    code = f"from config import env; print(*(getattr(env, name) for name in {NAMES!r}))"
    environment = {key: value for key, value in os.environ.items() if key not in NAMES}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**environment, **variables},
        capture_output=True,
        text=True,
    )


def test_the_defaults_are_five_failures_fifteen_minutes_no_proxy_five_registrations():
    started = start_with()
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["5", "15", "0", "5"]


def test_the_values_come_from_the_environment():
    started = start_with(
        LOGIN_FAILURE_LIMIT="3",
        LOGIN_COOLOFF_MINUTES="60",
        TRUSTED_PROXY_COUNT="2",
        REGISTRATIONS_PER_HOUR="20",
    )
    assert started.stdout.split() == ["3", "60", "2", "20"]


@pytest.mark.parametrize(
    ("name", "value", "minimum"),
    [
        ("LOGIN_FAILURE_LIMIT", "five", 1),
        ("LOGIN_FAILURE_LIMIT", "0", 1),
        ("LOGIN_COOLOFF_MINUTES", "1.5", 1),
        ("TRUSTED_PROXY_COUNT", "-1", 0),
        ("TRUSTED_PROXY_COUNT", "", 0),
        ("REGISTRATIONS_PER_HOUR", "0", 1),
    ],
)
def test_a_bad_value_stops_startup_with_a_message(name, value, minimum):
    started = start_with(**{name: value})

    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert f"{name}={value!r} is not a whole number of at least {minimum}" in started.stderr


def test_a_generative_model_needs_both_its_server_and_its_name():
    started = start_with(OPENAI_BASE_URL="http://127.0.0.1:9/v1", OPENAI_MODEL="")

    assert started.returncode != 0
    assert "Set OPENAI_BASE_URL and OPENAI_MODEL together" in started.stderr


def test_a_bad_answer_cache_lifetime_stops_startup():
    started = start_with(KB_ANSWER_CACHE_SECONDS="a day")

    assert started.returncode != 0 and "KB_ANSWER_CACHE_SECONDS='a day'" in started.stderr
