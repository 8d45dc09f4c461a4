import subprocess
import sys

import yaml
from openapi_spec_validator import validate

from tenants.models import ApiKey, Plan
from tenants.services import tenant_change_plan
from tests.api.helpers import new_key
from tests.celery_worker import REPO
from tests.conftest import host_client
from tests.live_server import gunicorn


def test_the_schema_is_valid_openapi_3_on_every_host(alice):
    for host in (None, "alice"):
        response = host_client(host).get("/api/schema/")
        assert response.status_code == 200
        spec = yaml.safe_load(response.content)
        validate(spec)
        assert spec["openapi"].startswith("3.")


def test_every_operation_documents_its_auth_errors_and_a_summary(public):
    spec = yaml.safe_load(host_client(None).get("/api/schema/").content)
    assert spec["components"]["securitySchemes"]["ApiKey"]["name"] == "Authorization"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
            assert operation["security"] == [{"ApiKey": []}], (method, path)
            assert operation.get("summary"), (method, path)


def test_the_interactive_docs_are_served_from_vendored_assets(public):
    page = host_client(None).get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower()


def test_schemathesis_finds_no_server_error(committed_tenants):
    tenant = committed_tenants("alice")
    tenant_change_plan(tenant=tenant, plan=Plan.objects.get(name="enterprise"))
    key = new_key(tenant, scope=ApiKey.Scope.ADMIN)

    with gunicorn(workers=2, threads=2) as base_url:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{base_url}/api/schema/",
                "--header",
                f"Authorization: Token {key}",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "25",
                "--seed",
                "1",
                "--no-color",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "Server error" not in run.stdout and " passed" in run.stdout
