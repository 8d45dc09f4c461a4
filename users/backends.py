from django.apps import apps
from django.conf import settings
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.db import connection
from django_tenants.utils import get_public_schema_name

from users.models import User
from users.selectors import login_username


class EmailOrUsernameBackend(ModelBackend):
    """Sign in with the username or the e-mail address, in the current schema only."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username:
            username = login_username(username)
        return super().authenticate(request, username=username, password=password, **kwargs)


class WorkspaceAdminBackend(BaseBackend):
    """A workspace admin may do everything with its workspace's models, by its role.

    This replaces the Django superuser flag tenant admins used to get: that flag means every
    permission everywhere, to Django and to any code that checks it. Here an admin gets the
    permissions of the models that live in tenant schemas (settings.TENANT_APPS), and only while
    the connection is on a tenant schema. The public schema's users are Pulse staff and its
    models are everyone's: there this grants nothing and the staff's own flags decide.
    """

    def has_perm(self, user_obj, perm, obj=None):
        app_label, _, _codename = perm.partition(".")
        return self.has_module_perms(user_obj, app_label)

    def has_module_perms(self, user_obj, app_label):
        return _is_workspace_admin(user_obj) and app_label in _tenant_app_labels()


def _is_workspace_admin(user) -> bool:
    on_tenant = connection.schema_name != get_public_schema_name()
    return on_tenant and user.is_active and getattr(user, "role", None) == User.Role.ADMIN


def _tenant_app_labels() -> set[str]:
    return {config.label for config in apps.get_app_configs() if config.name in settings.TENANT_APPS}
