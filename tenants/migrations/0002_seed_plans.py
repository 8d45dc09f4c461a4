"""Seed the four plans. Existing plans (edited by staff) are left as they are.

Frozen: the plans as they were when this migration was written, not imported from
tenants.plans, which may change after it ran (bootstrap ensures today's plans).
"""

from django.db import migrations

# name, max accounts, max documents, max API requests / month, max users
PLANS = [
    ("free", 25, 50, 1_000, 3),
    ("starter", 250, 500, 50_000, 10),
    ("pro", 2_500, 5_000, 500_000, 50),
    ("enterprise", 100_000, 100_000, 10_000_000, 1_000),
]


def seed_plans(apps, schema_editor):
    Plan = apps.get_model("tenants", "Plan")
    for name, accounts, documents, requests, users in PLANS:
        Plan.objects.get_or_create(
            name=name,
            defaults={
                "max_accounts": accounts,
                "max_documents": documents,
                "max_api_requests_per_month": requests,
                "max_users": users,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]
    operations = [migrations.RunPython(seed_plans, migrations.RunPython.noop)]
