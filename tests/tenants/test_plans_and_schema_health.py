from django.db import connection

from tenants.models import Plan
from tenants.services import schema_health_record


def test_the_four_plans_are_seeded(db):
    assert set(Plan.objects.values_list("name", flat=True)) >= {"free", "starter", "pro", "enterprise"}


def test_the_health_check_reports_a_schema_behind_on_migrations(alice):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM alice.django_migrations WHERE app = 'users'")

    health = schema_health_record(schema_name="alice")
    assert not health.ok and health.reachable
    assert "users.0001_initial" in health.pending_migrations
