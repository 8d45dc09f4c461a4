import csv
import io

from django_tenants.utils import schema_context

from ingest.models import Upload
from ingest.services import upload_process
from tests.api.helpers import api, error_of, new_key
from tests.conftest import signed_in_client
from tests.ingest.conftest import KPI_HEADER, named

CONTENT = KPI_HEADER + "ACC-1,nps,2026-10,30\nACC-1,nps,2026-13,5\n"


def post_upload(client, path="/api/v1/uploads/", **fields):
    data = {
        "file": named(CONTENT, "alice-secret-kpis.csv"),
        "kind": "kpis",
        "create_missing_accounts": "true",
        **fields,
    }
    return client.post(path, data)


def test_the_api_answers_202_with_a_status_url_and_the_worker_result_shows_there(
    alice, django_capture_on_commit_callbacks
):
    client = api(new_key(alice))
    with django_capture_on_commit_callbacks() as queued:
        response = post_upload(client)
    assert response.status_code == 202 and len(queued) == 1
    body = response.json()
    assert body["status"] == "queued" and body["status_url"].endswith(f"/api/v1/uploads/{body['id']}/")

    with schema_context("alice"):
        upload_process(upload_id=Upload.objects.get(public_id=body["id"]).pk)  # what the worker does
    status = client.get(f"/api/v1/uploads/{body['id']}/").json()
    assert (status["status"], status["inserted"], status["rejected"], status["progress"]) == (
        "completed",
        1,
        1,
        2,
    )

    report = client.get(f"/api/v1/uploads/{body['id']}/errors.csv")
    rows = list(csv.reader(io.StringIO(report.content.decode())))
    assert rows[0] == ["line", "field", "value", "reason"] and rows[1][:3] == ["3", "period", "2026-13"]


def test_the_predecessors_upload_endpoint_is_an_alias(alice):
    response = post_upload(api(new_key(alice)), path="/api/upload")
    assert response.status_code == 202


def test_a_refused_file_is_a_400_that_says_why(alice):
    client = api(new_key(alice))
    response = client.post(
        "/api/v1/uploads/", {"file": named(b"\x89PNG\r\n\x1a\n\x00\x01", "x.csv"), "kind": "kpis"}
    )
    assert response.status_code == 400
    assert "file" in error_of(response)["fields"]
    with schema_context("alice"):
        assert not Upload.objects.exists()


def test_an_unknown_kind_is_a_400(alice):
    response = post_upload(api(new_key(alice)), kind="widgets")
    assert response.status_code == 400 and "kind" in error_of(response)["fields"]


def test_a_read_key_cannot_upload(alice):
    from tenants.models import ApiKey

    assert post_upload(api(new_key(alice, scope=ApiKey.Scope.READ))).status_code == 403


def test_uploads_count_against_the_plans_documents(alice):
    from tenants.selectors import usage_summary

    post_upload(api(new_key(alice)))
    assert usage_summary(alice)["documents"] == 1


def test_tenant_b_cannot_see_a_upload_report_or_file_of_tenant_a(alice, bob):
    response = post_upload(api(new_key(alice)))
    upload_id = response.json()["id"]
    bob_client = api(new_key(bob))
    for path in (f"/api/v1/uploads/{upload_id}/", f"/api/v1/uploads/{upload_id}/errors.csv"):
        assert bob_client.get(path).status_code == 404
    assert bob_client.get("/api/v1/uploads/").json()["count"] == 0
    portal = signed_in_client("bob")
    for path in (
        f"/data/uploads/{upload_id}/",
        f"/data/uploads/{upload_id}/errors.csv",
        f"/data/uploads/{upload_id}/progress/",
    ):
        assert portal.get(path).status_code == 404
    assert "alice-secret-kpis.csv" not in portal.get("/data/").content.decode()


def test_the_portal_uploads_previews_and_confirms(alice, django_capture_on_commit_callbacks):
    client = signed_in_client("alice")
    with django_capture_on_commit_callbacks():
        response = client.post(
            "/data/",
            {
                "kind": "kpis",
                "file": named(CONTENT, "kpis.csv"),
                "preview": "on",
                "create_missing_accounts": "on",
            },
        )
    assert response.status_code == 302
    with schema_context("alice"):
        upload = Upload.objects.get()
        upload_process(upload_id=upload.pk)
    page = client.get(response["Location"]).content.decode()
    assert "Preview only" in page and "Confirm and load" in page and "2026-13" in page
    assert "hx-get" not in client.get(f"/data/uploads/{upload.public_id}/progress/").content.decode()
    with django_capture_on_commit_callbacks() as queued:
        client.post(f"/data/uploads/{upload.public_id}/confirm/")
    assert len(queued) == 1


def test_the_portal_shows_refusals_as_form_errors(alice):
    response = signed_in_client("alice").post("/data/", {"kind": "kpis", "file": named(b"", "empty.csv")})
    assert response.status_code == 200 and "empty" in response.content.decode()


def test_templates_download_with_the_expected_header(alice):
    response = signed_in_client("alice").get("/data/templates/sales.csv")
    header = response.content.decode().splitlines()[0].split(",")
    assert {"date", "user_id", "product_name", "quantity", "unit_price", "total_amount", "account"} <= set(
        header
    )


def test_confirming_an_upload_that_is_not_a_preview_is_a_400_on_its_status(alice):
    client = api(new_key(alice))
    upload_id = post_upload(client).json()["id"]  # a real load, not a preview

    response = client.post(f"/api/v1/uploads/{upload_id}/confirm/")

    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["status"]
    assert "Only a previewed upload can be confirmed" in error_of(response)["fields"]["status"][0]


def test_an_upload_id_that_is_not_a_uuid_is_a_404(alice):
    client = api(new_key(alice))

    for path in ("/api/v1/uploads/not-a-uuid/", "/api/v1/executions/not-a-uuid/"):
        assert client.get(path).status_code == 404, path
