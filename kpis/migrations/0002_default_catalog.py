"""Seeded the default KPI catalog, best practices, industry benchmarks and health model v1 from
the live catalog module, in the schemas that ran it.

Now frozen as a no-op: a migration must not import live code, which changes after it ran.
Schemas that applied it keep its rows (an applied migration never runs again); a fresh schema
gets the catalog and health model v1 from `manage.py catalog_sync`, which `bootstrap` runs
after migrating (see the README's Catalogs section).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("kpis", "0001_initial")]
    operations = []
