"""Uploads for tests, received through ingest.services as the portal receives them."""

import io

import factory
from django.db import connection

from ingest.models import Upload
from ingest.services import UploadRequest, upload_receive
from tenants.models import Tenant
from users.models import User

KPI_CSV = "account,kpi,period,value\nACC-001,nps,2026-10,42\n"


class UploadFactory(factory.Factory):
    """A file received for the tenant whose schema the connection is on (a KPI file unless told):
    stored and recorded as queued, not yet sent to the worker. Process it with
    `ingest.services.upload_process(upload_id=...)`; dry_run=True makes that a preview."""

    class Meta:
        model = Upload

    tenant = factory.LazyFunction(lambda: Tenant.objects.get(schema_name=connection.schema_name))
    content = KPI_CSV
    original_name = "kpis.csv"
    kind = Upload.Kind.KPIS
    acting_role = User.Role.ADMIN
    uploaded_by = "admin"
    dry_run = False

    @classmethod
    def _create(cls, model_class, *, content: str | bytes, **fields) -> Upload:
        data = content.encode() if isinstance(content, str) else content
        return upload_receive(fileobj=io.BytesIO(data), request=UploadRequest(**fields))
