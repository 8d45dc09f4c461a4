"""Roles, not Django's superuser flag: nobody gives a role above their own, tenant users are never
superusers, and a workspace admin still runs its workspace's /admin/ by its role."""

import importlib

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_tenants.utils import schema_context

from tests.conftest import PASSWORD, host_client, signed_in_client, tenant_member
from users.models import User
from users.services import user_create

CLEARING_MIGRATION = "0002_tenant_users_are_not_superusers"
NEW_USER = {
    "username": "nora",
    "email": "nora@alice.example.com",
    "full_name": "Nora North",
    "role": "manager",
    "usable_password": "true",
    "password1": PASSWORD,
    "password2": PASSWORD,
}


def test_registration_makes_the_first_admin_by_role_never_a_superuser(alice):
    with schema_context("alice"):
        admin = User.objects.get(username="admin")
    assert admin.role == User.Role.ADMIN and admin.is_staff and not admin.is_superuser


def test_nobody_gives_a_role_above_their_own(alice):
    with schema_context("alice"), pytest.raises(ValidationError) as refused:
        user_create(
            username="eve",
            email="eve@alice.example.com",
            password=PASSWORD,
            role=User.Role.ADMIN,
            acting_role=User.Role.MANAGER,
        )

    assert "role admin is above your own role manager" in refused.value.message_dict["role"][0]
    with schema_context("alice"):
        assert not User.objects.filter(username="eve").exists()


def test_a_workspace_admin_adds_a_user_in_its_admin_without_being_a_superuser(alice):
    client = signed_in_client("alice")

    assert "/admin/users/user/" in client.get("/admin/").content.decode()
    response = client.post("/admin/users/user/add/", NEW_USER)

    assert response.status_code == 302, response.content.decode()
    with schema_context("alice"):
        nora = User.objects.get(username="nora")
        assert (nora.role, nora.full_name, nora.is_superuser, nora.is_staff) == (
            "manager",
            "Nora North",
            False,
            False,
        )
        assert not User.objects.get(username="admin").is_superuser


def test_the_workspace_user_form_offers_no_django_permissions_and_ignores_them(alice):
    user = tenant_member("alice", "nora")
    client = signed_in_client("alice")
    url = f"/admin/users/user/{user.pk}/change/"

    page = client.get(url).content.decode()
    for field in ("is_superuser", "groups", "user_permissions", "is_staff"):
        assert f'name="{field}"' not in page, field
    form = {
        "username": "nora",
        "email": "nora@alice.example.com",
        "full_name": "",
        "role": "admin",
        "is_active": "on",
        "is_superuser": "on",
        "is_staff": "on",
        "user_permissions": "1",
    }
    assert client.post(url, form).status_code == 302
    with schema_context("alice"):
        user.refresh_from_db()
        assert (user.role, user.is_staff, user.is_superuser) == ("admin", True, False)
        assert not user.user_permissions.exists()


def test_a_workspace_admin_is_granted_tenant_models_only_and_nothing_in_the_public_schema(alice):
    with schema_context("alice"):
        admin = User.objects.get(username="admin")
        manager = tenant_member("alice", "mia", role=User.Role.MANAGER)
        assert admin.has_perm("kpis.change_account") and admin.has_perm("users.add_user")
        assert admin.has_module_perms("ingest")
        assert not admin.has_perm("tenants.change_tenant")  # the tenants list is Pulse's, not theirs
        assert not manager.has_perm("kpis.change_account")

    connection.set_schema_to_public()
    assert not admin.has_perm("users.add_user") and not admin.has_module_perms("users")


def test_staff_still_run_the_back_office_as_superusers(admin_user, public):
    client = host_client(None)
    client.force_login(admin_user)

    page = client.get(f"/admin/users/user/{admin_user.pk}/change/")
    assert page.status_code == 200 and 'name="is_superuser"' in page.content.decode()
    assert client.get("/admin/tenants/tenant/").status_code == 200


def test_the_migration_clears_superuser_in_tenant_schemas_and_leaves_public_staff(alice, admin_user):
    with schema_context("alice"):
        User.objects.filter(username="admin").update(is_superuser=True)  # as user_create used to make it

    for schema in ("public", "alice"):
        with schema_context(schema):
            _migrate_users_back_and_forth()

    assert User.objects.get(pk=admin_user.pk).is_superuser
    with schema_context("alice"):
        assert not User.objects.get(username="admin").is_superuser


def _migrate_users_back_and_forth() -> None:
    importlib.import_module(f"users.migrations.{CLEARING_MIGRATION}")  # fails clearly if renamed
    executor = MigrationExecutor(connection)
    executor.migrate([("users", "0001_initial")])
    executor.loader.build_graph()
    # Forward through the clearing migration to the newest, so the model's columns exist again.
    executor.migrate(executor.loader.graph.leaf_nodes("users"))


def test_no_path_around_the_service_saves_a_superuser_in_a_workspace(alice):
    with schema_context("alice"):
        user = User(username="root", email="root@alice.example.com", is_superuser=True)
        with pytest.raises(ValidationError, match="never Django superusers"):
            user.save()
        assert not User.objects.filter(username="root").exists()


def test_staff_signing_in_without_a_next_address_land_on_a_page(public):
    User.objects.create_superuser("boss", "boss@pulse.example", PASSWORD)
    response = host_client(None).post("/admin/login/", {"username": "boss", "password": PASSWORD})

    assert response.status_code == 302
    assert host_client(None).get(response["Location"]).status_code in (200, 302)
