"""Uploads remember the role of whoever sent them, so the worker can hold a users file to it.

Uploads recorded before this get the lowest role: a users file among them that is still waiting
is refused when the worker reaches it (its sender's role is unknown), and other kinds of file
are not affected by the role.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0002_salesrecord_lighter_writes"),
    ]

    operations = [
        migrations.AddField(
            model_name="upload",
            name="acting_role",
            field=models.CharField(
                choices=[("admin", "Admin"), ("manager", "Manager"), ("viewer", "Viewer")],
                default="viewer",
                help_text="Role of whoever sent the file (an API key's scope as a role; commands act as admin). A users file needs admin, and none of its rows may give a role above this one.",
                max_length=10,
            ),
            preserve_default=False,
        ),
    ]
