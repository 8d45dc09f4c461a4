from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations across apps. A shared app: its records (backups, restore drills) live in the public schema."""

    name = "ops"
