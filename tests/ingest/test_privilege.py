"""Importing users needs the admin role (portal) or the admin scope (API); commands act as the
operator. No import gives a role above the importer's own, and nobody imported is a superuser."""

import pytest
from django.core.management import call_command
from django_tenants.utils import schema_context

from ingest.models import Upload
from ingest.services import UploadRequest, upload_process, upload_receive
from tenants.models import ApiKey
from tests.api.helpers import api, error_of, new_key
from tests.conftest import signed_in_client, tenant_member
from tests.ingest.conftest import named
from users.models import User

USERS = "username,email,role,initial_password\nmallory,m@evil.example.com,admin,TempPass123!\n"
RULE = "Importing users needs the admin role"


def manager_client(tenant):
    tenant_member(tenant.schema_name, "mia", role=User.Role.MANAGER)
    return signed_in_client(tenant.schema_name, username="mia")


def process_all(tenant) -> list[Upload]:
    """What the worker would do with every upload the tenant has queued."""
    with schema_context(tenant.schema_name):
        return [upload_process(upload_id=pk) for pk in Upload.objects.values_list("pk", flat=True)]


def mallory(tenant) -> User | None:
    with schema_context(tenant.schema_name):
        return User.objects.filter(username="mallory").first()


def test_a_manager_cannot_import_users_in_the_portal(alice):
    response = manager_client(alice).post("/data/", {"kind": "users", "file": named(USERS, "users.csv")})

    assert response.status_code == 200
    assert RULE in response.content.decode()
    assert process_all(alice) == []  # nothing was recorded for the worker
    assert mallory(alice) is None


@pytest.mark.parametrize("path", ["/api/v1/uploads/", "/api/upload"])
def test_a_write_key_cannot_import_users(alice, path):
    client = api(new_key(alice, scope=ApiKey.Scope.WRITE))

    response = client.post(path, {"file": named(USERS, "users.csv"), "kind": "users"})

    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "permission_denied" and RULE in error["message"]
    assert process_all(alice) == []
    assert mallory(alice) is None


def test_an_admin_key_imports_users_and_none_of_them_is_a_superuser(alice):
    client = api(new_key(alice, scope=ApiKey.Scope.ADMIN))

    response = client.post("/api/v1/uploads/", {"file": named(USERS, "users.csv"), "kind": "users"})

    assert response.status_code == 202
    [upload] = process_all(alice)
    assert (upload.status, upload.inserted) == (Upload.Status.COMPLETED, 1)
    user = mallory(alice)
    assert user.role == User.Role.ADMIN and user.is_staff and not user.is_superuser


def test_a_portal_admin_imports_users(alice):
    response = signed_in_client("alice").post("/data/", {"kind": "users", "file": named(USERS, "users.csv")})

    assert response.status_code == 302
    process_all(alice)
    assert mallory(alice).role == User.Role.ADMIN and not mallory(alice).is_superuser


def test_a_previewed_users_upload_cannot_be_confirmed_by_a_manager_or_a_write_key(alice):
    signed_in_client("alice").post(
        "/data/", {"kind": "users", "file": named(USERS, "u.csv"), "preview": "on"}
    )
    [upload] = process_all(alice)
    assert upload.status == Upload.Status.PREVIEWED

    page = manager_client(alice).post(f"/data/uploads/{upload.public_id}/confirm/", follow=True)
    assert RULE in page.content.decode()
    refused = api(new_key(alice, scope=ApiKey.Scope.WRITE)).post(
        f"/api/v1/uploads/{upload.public_id}/confirm/"
    )
    assert refused.status_code == 403 and RULE in error_of(refused)["message"]
    upload.refresh_from_db()
    assert upload.status == Upload.Status.PREVIEWED and mallory(alice) is None

    confirmed = api(new_key(alice, scope=ApiKey.Scope.ADMIN)).post(
        f"/api/v1/uploads/{upload.public_id}/confirm/"
    )
    assert confirmed.status_code == 202
    process_all(alice)
    assert mallory(alice).role == User.Role.ADMIN


def test_the_worker_refuses_a_users_upload_recorded_for_someone_below_admin(alice):
    """An upload queued before this rule existed carries the lowest role (see the migration)."""
    with schema_context("alice"):
        upload = upload_receive(
            fileobj=named(USERS, "u.csv"),
            request=UploadRequest(
                tenant=alice, original_name="u.csv", kind="users", acting_role=User.Role.ADMIN
            ),
        )
        Upload.objects.filter(pk=upload.pk).update(acting_role=User.Role.VIEWER)

    [upload] = process_all(alice)

    assert upload.status == Upload.Status.FAILED and RULE in upload.message
    assert mallory(alice) is None


def test_the_import_users_command_acts_as_the_operator_and_makes_no_superuser(alice, tmp_path):
    path = tmp_path / "users.csv"
    path.write_text(USERS)

    call_command("import_users", str(path), "--tenant", "alice")

    user = mallory(alice)
    assert user.role == User.Role.ADMIN and not user.is_superuser
