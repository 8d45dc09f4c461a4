"""Workspace users lose Django's superuser flag; Pulse staff in the public schema keep theirs.

Until now user_create made every workspace admin a superuser of its schema, so that the
workspace's /admin/ would let it manage its data. To Django that flag means every permission,
asked nowhere, which is far more than a role in one workspace should carry: workspace admins now
get the permissions of tenant models from their role (users.backends.WorkspaceAdminBackend).

This migration runs in every schema that has the users table: public, tenant_base and each
tenant. In the public schema the users are Pulse staff, whose superuser flag is how the back
office works, so that schema is left alone. Reversing it restores nothing on purpose: no
workspace user should be a superuser again.
"""

from django.db import migrations
from django_tenants.utils import get_public_schema_name


def clear_tenant_superusers(apps, schema_editor):
    if schema_editor.connection.schema_name == get_public_schema_name():
        return
    User = apps.get_model("users", "User")
    users = User.objects.using(schema_editor.connection.alias)
    users.filter(is_superuser=True).update(is_superuser=False)


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(clear_tenant_superusers, migrations.RunPython.noop),
    ]
