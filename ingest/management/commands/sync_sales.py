"""Load sales into a tenant now: from a CSV file, or pulled from a sales API.

--api runs ingest.sync.sync_run, the code of the scheduled syncs, on a disabled SyncSource named
"sync_sales" (one per URL, made on first use): every manual pull is logged as a SyncRun like a
scheduled one, and the scheduler never picks it up. The key comes from SALES_API_KEY and is passed
through, never stored.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import URLValidator
from django.utils import timezone
from django_tenants.utils import tenant_context

from ingest.management.commands.import_data import run_import
from ingest.models import SyncRun, SyncSource, Upload
from ingest.sync import sync_run
from tenants.commands import redis_required, tenant_named

COMMAND_SOURCE = "sync_sales"


class Command(BaseCommand):
    help = "Load sales records into a tenant from a CSV file (--csv) or a sales API (--api, last --days N)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug, e.g. demo.")
        origin = parser.add_mutually_exclusive_group(required=True)
        origin.add_argument("--csv", metavar="FILE", help="A CSV/XLSX file of sales records.")
        origin.add_argument("--api", metavar="URL", help="A sales API; SALES_API_KEY is sent as Bearer.")
        parser.add_argument(
            "--days", type=int, default=1, help="With --api: pull the last N days (default 1)."
        )

    def handle(self, *args, tenant, csv, api, days, **options):
        tenant = tenant_named(tenant)
        if csv:
            run_import(self, tenant=tenant, kind=Upload.Kind.SALES, path=csv, dry_run=False)
            return
        _check_api_arguments(api, days)
        redis_required()
        with tenant_context(tenant):
            source, _created = SyncSource.objects.get_or_create(
                name=COMMAND_SOURCE, url=api, defaults={"enabled": False, "expect_rows": False}
            )
            since = timezone.localdate() - dt.timedelta(days=days)
            run = sync_run(source=source, since=since, api_key=settings.SALES_API_KEY)
            self._summarize(run)

    def _summarize(self, run: SyncRun) -> None:
        self.stdout.write(
            f"{run.get_status_display()}: {run.pages} page(s), {run.rows_received} row(s) dated "
            f"{run.cursor_from} or later."
        )
        upload = run.upload
        if upload:
            self.stdout.write(
                f"new {upload.inserted}, updated {upload.updated}, unchanged {upload.unchanged}, "
                f"rejected {upload.rejected} (upload {upload.public_id})."
            )
        # Rejected rows fail the command as they do for --csv: a script must notice them.
        if run.status == SyncRun.Status.FAILED or run.error:
            raise CommandError(run.error)


def _check_api_arguments(url: str, days: int) -> None:
    if days < 1:
        raise CommandError("--days must be 1 or more.")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as error:
        raise CommandError(f"--api {url} is not an http(s) URL.") from error
