"""The layers point one way (docs/architecture.md): config → product apps → api/common →
tenants → users, with the product apps ordered ops → playbooks → ingest → kpis. import-linter
keeps the contracts in pyproject.toml; scripts/import_pairs.py counts apps that import each other."""

import subprocess
import sys
from pathlib import Path

from tests.celery_worker import REPO


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_the_import_contracts_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")

    result = run(str(lint_imports), "--no-cache")

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Layers point one way KEPT" in result.stdout
    assert "Portal views read through selectors, not the API KEPT" in result.stdout
    assert "Production code needs nothing only requirements/local.txt installs KEPT" in result.stdout


def test_no_two_apps_import_each_other():
    result = run(sys.executable, "scripts/import_pairs.py")

    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().endswith("0 two-way import pair(s) between apps")
