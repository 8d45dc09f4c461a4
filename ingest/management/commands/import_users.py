"""Bulk-create users from a CSV (username, email, role, initial_password); each must change
the password at first sign-in; existing users are reported, not overwritten."""

from django.core.management.base import BaseCommand

from ingest.management.commands.import_data import run_import
from tenants.commands import tenant_named


class Command(BaseCommand):
    help = "Import users from a CSV file into a tenant."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, file, tenant, dry_run, **options):
        run_import(self, tenant=tenant_named(tenant), kind="users", path=file, dry_run=dry_run)
