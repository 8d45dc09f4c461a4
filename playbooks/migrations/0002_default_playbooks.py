"""Seeded the six default playbooks with their steps and triggers from the live catalog
module, in the schemas that ran it.

Now frozen as a no-op: a migration must not import live code, which changes after it ran.
Schemas that applied it keep its rows (an applied migration never runs again); a fresh schema
gets the playbooks from `manage.py catalog_sync`, which `bootstrap` runs after migrating (see
the README's Catalogs section).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("playbooks", "0001_initial")]
    operations = []
