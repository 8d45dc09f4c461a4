"""Migrations are history: they import no live project code, which changes after they ran."""

import ast
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PROJECT_PACKAGES = {"config", "tenants", "users", "kpis", "playbooks", "ingest"}
# What makemigrations itself writes: a field's validator, referenced by its import path.
FIELD_VALIDATORS = {"tenants.validators"}
MIGRATIONS = sorted(ROOT.glob("*/migrations/0*.py"))


def project_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return {name for name in names if name.split(".")[0] in PROJECT_PACKAGES}


def test_there_are_migrations_to_check():
    assert len(MIGRATIONS) >= 10


@pytest.mark.parametrize("path", MIGRATIONS, ids=lambda path: str(path.relative_to(ROOT)))
def test_a_migration_imports_no_live_project_code(path):
    assert project_imports(path) <= FIELD_VALIDATORS
