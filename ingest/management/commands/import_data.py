"""Load a file from the command line through the same pipeline as the portal and API."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from ingest.models import Upload
from ingest.parsers import FileRefused
from ingest.services import UploadRequest, upload_process, upload_receive
from tenants.commands import redis_required, tenant_named
from tenants.models import Tenant
from users.models import User

# Whoever can run a command runs the server: they act as a workspace admin (users files included).
OPERATOR_ROLE = User.Role.ADMIN


def run_import(
    command: BaseCommand,
    *,
    tenant: Tenant,
    kind: str,
    path: str,
    dry_run: bool,
    account: str = "",
    create_missing_accounts: bool = False,
) -> Upload:
    """Receive and process the file now (no worker needed), as the operator; print the summary; raise
    CommandError (non-zero exit) when the file is refused, fails or has rejected rows."""
    file_path = Path(path)
    if not file_path.is_file():
        raise CommandError(f"No file at {path}.")
    redis_required()
    with tenant_context(tenant), open(file_path, "rb") as handle:
        try:
            upload = upload_receive(
                fileobj=handle,
                request=UploadRequest(
                    tenant=tenant,
                    original_name=file_path.name,
                    kind=kind,
                    acting_role=OPERATOR_ROLE,
                    uploaded_by="command",
                    via=Upload.Via.COMMAND,
                    dry_run=dry_run,
                    account_from_file=account,
                    create_missing_accounts=create_missing_accounts,
                ),
            )
        except (FileRefused, ValidationError) as refused:
            raise CommandError(f"Refused: {refused}") from refused
        upload = upload_process(upload_id=upload.pk)
        first_errors = list(upload.errors.all()[:10])
    command.stdout.write(
        f"{upload.original_name}: {upload.get_status_display()} — read {upload.rows_read}, new {upload.inserted}, "
        f"updated {upload.updated}, unchanged {upload.unchanged}, rejected {upload.rejected}. {upload.message}"
    )
    for error in first_errors:
        command.stdout.write(f"  line {error.line} {error.field} “{error.value}”: {error.reason}")
    if upload.status == Upload.Status.FAILED or upload.rejected:
        raise CommandError(
            f"{upload.rejected} row(s) rejected; upload id {upload.public_id}."
            if upload.rejected
            else upload.message
        )
    return upload


class Command(BaseCommand):
    help = "Import a CSV/XLSX file of KPI values, accounts, sales records or users into a tenant."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--tenant", required=True, help="Tenant slug, e.g. demo.")
        parser.add_argument("--kind", required=True, choices=Upload.Kind.values)
        parser.add_argument("--dry-run", action="store_true", help="Validate and count; write nothing.")
        parser.add_argument(
            "--account", default="", help="account_rollup mode: the account the KPI file is for."
        )

        parser.add_argument(
            "--create-missing-accounts",
            action="store_true",
            help="KPI values and renewals: create an account for a row naming one that does not exist "
            "(otherwise such a row is rejected).",
        )

    def handle(self, *args, file, tenant, kind, dry_run, account, create_missing_accounts, **options):
        run_import(
            self,
            tenant=tenant_named(tenant),
            kind=kind,
            path=file,
            dry_run=dry_run,
            account=account,
            create_missing_accounts=create_missing_accounts,
        )
