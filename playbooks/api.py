"""Playbooks, executions, reports and triggers over the API."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api.base import TenantViewSet
from kpis.models import Account
from playbooks.models import Execution, Playbook, Trigger
from playbooks.selectors import (
    NO_OWNER,
    actor_sentence,
    execution_report,
    playbook_effectiveness,
    triggers_by_pk,
)
from playbooks.services import execution_start, execution_update, step_record, trigger_create, trigger_update
from users.audit import api_actor


class PlaybookSerializer(serializers.ModelSerializer):
    steps = serializers.SerializerMethodField()

    class Meta:
        model = Playbook
        fields = [
            "key",
            "name",
            "purpose",
            "when_to_use",
            "expected_duration_days",
            "expected_outcomes",
            "exit_criteria",
            "active",
            "steps",
        ]

    def get_steps(self, playbook) -> list[dict]:
        return [
            {
                "order": s.order,
                "title": s.title,
                "description": s.description,
                "responsible": s.responsible,
                "accountable": s.accountable,
                "consulted": s.consulted,
                "informed": s.informed,
                "due_offset_days": s.due_offset_days,
                "required": s.required,
            }
            for s in playbook.steps.all()
        ]


class ExecutionSerializer(serializers.ModelSerializer):
    playbook = serializers.SlugRelatedField(slug_field="key", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    started_by_text = serializers.SerializerMethodField(
        help_text="Who started it as a person reads it, e.g. trigger “health band is critical → Renewal Safeguard”."
    )
    steps = serializers.SerializerMethodField()

    class Meta:
        model = Execution
        fields = [
            "id",
            "playbook",
            "account",
            "account_name",
            "status",
            "current_step",
            "owner",
            "notes",
            "started_by",
            "started_by_text",
            "started_at",
            "completed_at",
            "completion_reason",
            "health_at_start",
            "manual_criteria",
            "steps",
        ]
        read_only_fields = fields

    def get_started_by_text(self, execution) -> str:
        return actor_sentence(execution.started_by, self.context.get("triggers"))

    def get_steps(self, execution) -> list[dict]:
        progress = {p.index: p for p in execution.progress.all()}
        return [
            {
                "number": i + 1,
                "title": step["title"],
                "accountable": step["accountable"],
                "responsible": step["responsible"],
                "required": step.get("required", True),
                "status": progress[i].status if i in progress else "pending",
                "due_date": progress[i].due_date if i in progress else None,
                "done_by": progress[i].done_by if i in progress else "",
                "done_at": progress[i].done_at if i in progress else None,
            }
            for i, step in enumerate(execution.plan.get("steps", []))
        ]


class ExecutionCreateSerializer(serializers.Serializer):
    playbook = serializers.SlugField(help_text="Playbook key, e.g. renewal_safeguard.")
    account = serializers.IntegerField(help_text="Account id.")
    owner = serializers.CharField(required=False, allow_blank=True, max_length=150)


class ExecutionUpdateSerializer(serializers.Serializer):
    owner = serializers.CharField(required=False, allow_blank=True, max_length=150)
    notes = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=[Execution.Status.CANCELLED], required=False)


class StepCompleteSerializer(serializers.Serializer):
    notes = serializers.CharField(required=False, allow_blank=True)
    skip = serializers.BooleanField(
        default=False, help_text="Skip an optional step instead of completing it."
    )


class TriggerSerializer(serializers.ModelSerializer):
    """Types only; trigger_create/trigger_update check the rule whole (condition, action, cooldown)."""

    playbook = serializers.SlugRelatedField(slug_field="key", queryset=Playbook.objects.all())
    condition_text = serializers.CharField(
        read_only=True, help_text="The condition as a sentence, e.g. “health band is critical”."
    )

    class Meta:
        model = Trigger
        fields = [
            "id",
            "playbook",
            "condition",
            "condition_text",
            "action",
            "cooldown_days",
            "enabled",
            "fallback_owner",
            "max_starts_per_evaluation",
            "holdout_share",
            "holdout_delay_days",
            "holdout_reason",
            "holdout_critical_renewals",
            "last_evaluated_at",
            "last_triggered_at",
            "times_triggered",
            "last_error",
        ]
        read_only_fields = ["last_evaluated_at", "last_triggered_at", "times_triggered", "last_error"]


@extend_schema(tags=["playbooks"])
@extend_schema_view(list=extend_schema(summary="The playbook catalog"))
class PlaybookViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    serializer_class = PlaybookSerializer
    lookup_field = "key"
    lookup_url_kwarg = "pk"

    def get_queryset(self):
        return Playbook.objects.prefetch_related("steps")

    @extend_schema(summary="One playbook with its steps and measured effectiveness")
    def retrieve(self, request, *args, **kwargs):
        playbook = self.get_object()
        return Response(
            {**PlaybookSerializer(playbook).data, "effectiveness": playbook_effectiveness(playbook)}
        )

    @extend_schema(
        summary="Does it work? Health change at 30/60/90 days and renewal rate, ran vs held out "
        "(or matched same-band accounts), each with its 95% bootstrap interval and account counts",
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=True, methods=["get"])
    def effectiveness(self, request, pk=None):
        playbook = self.get_object()
        return Response({"playbook": playbook.key, **playbook_effectiveness(playbook)})


@extend_schema(tags=["playbooks"])
@extend_schema_view(
    list=extend_schema(
        summary="Executions, newest first",
        parameters=[
            OpenApiParameter("status", str, enum=Execution.Status.values),
            OpenApiParameter("account", int),
            OpenApiParameter("playbook", str, description="A playbook key, e.g. renewal_safeguard."),
            OpenApiParameter(
                "owner", str, description=f"A teammate's username; `{NO_OWNER}`: runs nobody owns."
            ),
        ],
    ),
    retrieve=extend_schema(summary="One execution with its steps"),
)
class ExecutionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    serializer_class = ExecutionSerializer

    def get_queryset(self):
        executions = Execution.objects.select_related("playbook", "account").prefetch_related("progress")
        params = self.request.query_params
        if params.get("status"):
            executions = executions.filter(status=params["status"])
        if params.get("account"):
            if not params["account"].isdigit():
                raise ValidationError({"account": ["Give an account id (a whole number)."]})
            executions = executions.filter(account_id=params["account"])
        if params.get("playbook"):
            executions = executions.filter(playbook__key=params["playbook"])
        if params.get("owner"):
            executions = executions.filter(owner="" if params["owner"] == NO_OWNER else params["owner"])
        return executions

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False):  # schema generation reads no tenant's tables
            return context
        # Runs name the trigger that started them: load the triggers once, not once a run.
        return {**context, "triggers": triggers_by_pk()}

    @extend_schema(
        summary="Start a playbook for an account",
        request=ExecutionCreateSerializer,
        responses={201: ExecutionSerializer},
    )
    def create(self, request):
        form = ExecutionCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        playbook = Playbook.objects.filter(key=form.validated_data["playbook"]).first()
        account = Account.objects.filter(pk=form.validated_data["account"]).first()
        if playbook is None or account is None:
            missing = "playbook" if playbook is None else "account"
            raise ValidationError({missing: [f"No such {missing} in this workspace."]})
        execution = execution_start(
            playbook=playbook,
            account=account,
            started_by=f"api:{request.auth.prefix}",
            owner=form.validated_data.get("owner", ""),
        )
        return Response(ExecutionSerializer(execution).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Change owner or notes, or cancel", request=ExecutionUpdateSerializer)
    def partial_update(self, request, pk=None):
        form = ExecutionUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        execution = execution_update(
            execution=self.get_object(), by=f"api:{request.auth.prefix}", **form.validated_data
        )
        return Response(ExecutionSerializer(execution).data)

    @extend_schema(
        summary="Complete (or skip) step n, counted from 1",
        request=StepCompleteSerializer,
        responses=ExecutionSerializer,
    )
    def complete_step(self, request, pk=None, number=None):
        form = StepCompleteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        execution = step_record(
            execution=self.get_object(),
            index=int(number) - 1,
            by=f"api:{request.auth.prefix}",
            notes=form.validated_data.get("notes", ""),
            skip=form.validated_data["skip"],
        )
        return Response(ExecutionSerializer(Execution.objects.get(pk=execution.pk)).data)

    @extend_schema(
        summary="The execution's report: RACI, steps, exit criteria, timeline, health",
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=True, methods=["get"])
    def report(self, request, pk=None):
        data = execution_report(self.get_object())
        data["execution"] = ExecutionSerializer(data["execution"]).data
        data["steps"] = [{**s, "progress": _progress(s["progress"])} for s in data["steps"]]
        return Response(data)


def _progress(progress) -> dict | None:
    if progress is None:
        return None
    return {
        "status": progress.status,
        "due_date": progress.due_date,
        "done_by": progress.done_by,
        "done_at": progress.done_at,
        "notes": progress.notes,
    }


@extend_schema(tags=["playbooks"])
@extend_schema_view(
    list=extend_schema(summary="Triggers of every playbook"),
    retrieve=extend_schema(summary="One trigger"),
)
class TriggerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    serializer_class = TriggerSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Trigger.objects.select_related("playbook")

    @extend_schema(summary="Add a trigger to a playbook", responses={201: TriggerSerializer})
    def create(self, request):
        form = TriggerSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        trigger = trigger_create(actor=api_actor(request.auth.prefix), **form.validated_data)
        return Response(TriggerSerializer(trigger).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Change a trigger (condition, action, cooldown, enabled, holdout)")
    def partial_update(self, request, pk=None):
        trigger = self.get_object()
        form = TriggerSerializer(trigger, data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        trigger = trigger_update(trigger=trigger, actor=api_actor(request.auth.prefix), **form.validated_data)
        return Response(TriggerSerializer(trigger).data)
