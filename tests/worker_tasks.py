"""A task the test worker loads with --include: it writes into whatever schema it runs in,
so a test can see where tenant-schemas-celery put it."""

from celery import shared_task

from users.models import User


@shared_task
def create_marker_user(username: str) -> str:
    from django.db import connection

    User.objects.create(username=username, email=f"{username}@marker.example.com")
    return connection.schema_name
