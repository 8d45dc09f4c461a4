"""`manage.py health_check` (ops): every tenant schema, one line each, non-zero when one fails."""

import pytest
from django.core.management import CommandError, call_command, get_commands
from django.db import connection


def test_the_operations_commands_belong_to_ops():
    commands = get_commands()

    assert (commands["bootstrap"], commands["health_check"]) == ("ops", "ops")


def test_the_health_check_prints_each_schema(alice, capsys):
    call_command("health_check")

    assert "alice: ok" in capsys.readouterr().out


def test_the_health_check_fails_when_a_schema_is_behind(alice, capsys):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM alice.django_migrations WHERE app = 'users'")

    with pytest.raises(CommandError, match="1 tenant schema"):
        call_command("health_check")
    assert "alice: FAILING" in capsys.readouterr().out
