from rest_framework import serializers

from tenants.models import ApiKey, Plan, Tenant


class PlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["name", "max_accounts", "max_documents", "max_api_requests_per_month", "max_users"]


class TenantSerializer(serializers.ModelSerializer):
    slug = serializers.CharField(source="schema_name")

    class Meta:
        model = Tenant
        fields = ["name", "slug", "status", "timezone", "created_at"]


class UsageSerializer(serializers.Serializer):
    month = serializers.DateField(help_text="First day of the metered month (tenant's timezone).")
    resets_at = serializers.DateTimeField()
    requests = serializers.IntegerField()
    documents = serializers.IntegerField()
    last_request_at = serializers.DateTimeField(allow_null=True)
    last_upload_at = serializers.DateTimeField(allow_null=True)
    total_requests = serializers.IntegerField()
    total_documents = serializers.IntegerField()
    request_limit = serializers.IntegerField(
        help_text="API requests a month: the plan's, or the workspace's own."
    )
    document_limit = serializers.IntegerField(help_text="Documents: the plan's, or the workspace's own.")


class ApiKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "scope",
            "created_by",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
        ]
        read_only_fields = fields


class MeSerializer(serializers.Serializer):
    tenant = TenantSerializer()
    plan = PlanSerializer(allow_null=True)
    usage = UsageSerializer()
    key = ApiKeySerializer()


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scope = serializers.ChoiceField(choices=ApiKey.Scope.choices, default=ApiKey.Scope.WRITE)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The full key. Shown this once only: store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields
