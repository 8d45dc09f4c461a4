"""Seed the four plans. Existing plans (edited by staff) are left as they are."""

from django.db import migrations

from tenants.plans import plans_ensure_defaults


def seed_plans(apps, schema_editor):
    plans_ensure_defaults(apps.get_model("tenants", "Plan"))


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]
    operations = [migrations.RunPython(seed_plans, migrations.RunPython.noop)]
