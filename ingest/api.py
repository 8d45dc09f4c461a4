"""Uploads over the API: POST a file, get 202 and a URL to poll, fetch the error report."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.reverse import reverse

from api.base import TenantViewSet
from api.parsers import FormParser
from ingest.exports import errors_csv_response
from ingest.models import Upload
from ingest.services import UploadRequest, upload_confirm, upload_enqueue, upload_progress, upload_receive
from ingest.upload_limits import MultiPartParser


class UploadSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    progress = serializers.SerializerMethodField(help_text="Rows processed so far.")
    status_url = serializers.SerializerMethodField()
    errors_url = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = [
            "id",
            "kind",
            "original_name",
            "version",
            "size",
            "sha256",
            "uploaded_by",
            "via",
            "dry_run",
            "create_missing_accounts",
            "status",
            "message",
            "rows_total",
            "progress",
            "rows_read",
            "inserted",
            "updated",
            "unchanged",
            "rejected",
            "summary",
            "created_at",
            "started_at",
            "finished_at",
            "status_url",
            "errors_url",
        ]

    def get_progress(self, upload) -> int:
        return upload_progress(upload)

    def get_status_url(self, upload) -> str:
        return reverse("api-uploads-detail", args=[upload.public_id], request=self.context.get("request"))

    def get_errors_url(self, upload) -> str:
        return reverse("api-uploads-errors", args=[upload.public_id], request=self.context.get("request"))


class UploadCreateSerializer(serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=Upload.Kind.choices)
    dry_run = serializers.BooleanField(default=False, help_text="Validate and count only; write nothing.")
    account = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="account_rollup mode: the account this KPI file is for.",
    )
    create_missing_accounts = serializers.BooleanField(
        default=False,
        help_text="KPI values and renewals: create an account for a row naming one that does not exist; "
        "otherwise such a row is rejected with its line.",
    )


def receive_and_queue(request, tenant) -> Upload:
    """The one way the API (and its legacy alias) takes a file in."""
    form = UploadCreateSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    data = form.validated_data
    upload = upload_receive(
        fileobj=data["file"],
        request=UploadRequest(
            tenant=tenant,
            original_name=data["file"].name,
            kind=data["kind"],
            acting_role=request.auth.acting_role,
            uploaded_by=f"api:{request.auth.prefix}",
            via=Upload.Via.API,
            dry_run=data["dry_run"],
            account_from_file=data.get("account", ""),
            create_missing_accounts=data["create_missing_accounts"],
        ),
    )
    upload_enqueue(upload)
    return upload


@extend_schema(tags=["uploads"])
@extend_schema_view(
    list=extend_schema(summary="Uploads, newest first"),
    retrieve=extend_schema(summary="An upload's status, progress and counts"),
)
class UploadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    serializer_class = UploadSerializer
    lookup_field = "public_id"
    lookup_url_kwarg = "pk"
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return Upload.objects.all()

    @extend_schema(
        summary="Upload a CSV or XLSX file; it is validated and loaded in the background",
        description="Importing users (`kind=users`) needs a key with the admin scope; other kinds need write.",
        request={"multipart/form-data": UploadCreateSerializer},
        responses={202: UploadSerializer},
        examples=[OpenApiExample("KPI values", value={"kind": "kpis", "dry_run": False}, request_only=True)],
    )
    def create(self, request):
        upload = receive_and_queue(request, self.tenant)
        return Response(
            UploadSerializer(upload, context={"request": request}).data, status=status.HTTP_202_ACCEPTED
        )

    # Routed explicitly as .../errors.csv (no trailing slash) in config/api_router.py.
    @extend_schema(
        summary="Rejected rows as CSV: line, field, value, reason",
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def errors_csv(self, request, pk=None):
        return errors_csv_response(self.get_object())

    @extend_schema(
        summary="Load a previewed (dry-run) upload for real", request=None, responses={202: UploadSerializer}
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        upload = upload_confirm(upload=self.get_object(), acting_role=request.auth.acting_role)
        return Response(
            UploadSerializer(upload, context={"request": request}).data, status=status.HTTP_202_ACCEPTED
        )
