"""Portal pages: catalog, playbook and its triggers, executions, steps, reports."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from common.exports import csv_safe
from kpis.models import Account
from playbooks.forms import TriggerForm, add_problems
from playbooks.models import Execution, Playbook, Trigger
from playbooks.selectors import (
    NO_OWNER,
    account_facts,
    execution_comparison,
    execution_filter_choices,
    execution_report,
    executions_filtered,
    exit_criteria_status,
    open_steps,
    playbook_effectiveness,
    playbooks_effectiveness,
    with_actor_text,
)
from playbooks.services import (
    criterion_tick,
    execution_start,
    execution_update,
    step_record,
    trigger_create,
    trigger_update,
)
from users.audit import user_actor
from users.decorators import editor_required


@login_required
def catalog(request):
    """Playbooks with one line each on whether they work, the biggest measured effect first
    (those without a figure yet last)."""
    playbooks = list(Playbook.objects.prefetch_related("steps", "triggers"))
    effects = playbooks_effectiveness()
    for playbook in playbooks:
        playbook.effect = effects[playbook.key]
    playbooks.sort(key=_by_effect)
    return render(request, "playbooks/catalog.html", {"playbooks": playbooks})


def _by_effect(playbook: Playbook) -> tuple:
    effect = playbook.effect["headline_effect"]
    return (effect is None, -(effect or 0), playbook.name)


@login_required
def playbook_detail(request, key: str):
    playbook = get_object_or_404(Playbook.objects.prefetch_related("steps", "triggers"), key=key)
    effectiveness = playbook_effectiveness(playbook)
    context = {
        "playbook": playbook,
        "effectiveness": effectiveness,
        "chart": {
            "effect": {**effectiveness["chart"], "comparison_label": effectiveness["comparison_label"]}
        },
        "accounts": Account.objects.order_by("name").only("pk", "name"),
        "executions": playbook.executions.select_related("account")[:20],
    }
    return render(request, "playbooks/playbook_detail.html", context)


@editor_required
@require_POST
def execution_start_view(request, key: str):
    playbook = get_object_or_404(Playbook, key=key)
    account = get_object_or_404(Account, pk=request.POST.get("account") or 0)
    try:
        execution = execution_start(
            playbook=playbook,
            account=account,
            started_by=f"user:{request.user.username}",
            owner=request.user.username,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("playbook_detail", key=key)
    return redirect("execution_detail", pk=execution.pk)


@editor_required
def trigger_new(request, key: str):
    return _trigger_page(request, get_object_or_404(Playbook, key=key), None)


@editor_required
def trigger_edit(request, key: str, pk: int):
    trigger = get_object_or_404(Trigger.objects.select_related("playbook"), pk=pk, playbook__key=key)
    return _trigger_page(request, trigger.playbook, trigger)


def _trigger_page(request, playbook: Playbook, trigger: Trigger | None):
    """Add or change a trigger; the service's problems show next to their fields."""
    initial = TriggerForm.initial_from(trigger) if trigger else None
    form = TriggerForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_valid():
        try:
            if trigger:
                trigger_update(trigger=trigger, actor=user_actor(request.user), **form.changes())
            else:
                trigger_create(playbook=playbook, actor=user_actor(request.user), **form.changes())
        except ValidationError as error:
            add_problems(form, error, form.field_of)
        else:
            messages.success(request, f"Trigger of {playbook.name} saved.")
            return redirect("playbook_detail", key=playbook.key)
    return render(
        request, "playbooks/trigger_form.html", {"form": form, "playbook": playbook, "trigger": trigger}
    )


EXECUTION_FILTERS = ("status", "playbook", "owner")


@login_required
def executions(request):
    """Open steps (everyone's or mine) and every run, 50 a page, by status, playbook and owner."""
    mine = request.GET.get("mine") == "1"
    steps = open_steps(owner=request.user.username if mine else None)
    filters = {name: request.GET.get(name, "") for name in EXECUTION_FILTERS}
    page = Paginator(executions_filtered(**filters), 50).get_page(request.GET.get("page"))
    page.object_list = with_actor_text(list(page.object_list))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "steps": steps,
        "mine": mine,
        "page": page,
        "filters": filters,
        "query": query,
        "choices": execution_filter_choices(),
        "no_owner": NO_OWNER,
    }
    return render(request, "playbooks/executions.html", context)


def _execution(pk) -> Execution:
    return get_object_or_404(Execution.objects.select_related("account", "playbook"), pk=pk)


@login_required
def execution_detail(request, pk):
    execution = _execution(pk)
    facts = account_facts([execution.account_id])[execution.account_id]
    progress = {p.index: p for p in execution.progress.all()}
    today = timezone.localdate()
    steps = [
        {
            **step,
            "index": i,
            "progress": progress.get(i),
            "overdue": progress.get(i) and progress[i].status == "pending" and progress[i].due_date < today,
        }
        for i, step in enumerate(execution.plan.get("steps", []))
    ]
    with_actor_text([execution])
    context = {
        "execution": execution,
        "steps": steps,
        "criteria": exit_criteria_status(execution, facts),
        "facts": facts,
    }
    return render(request, "playbooks/execution_detail.html", context)


@editor_required
@require_POST
def step_view(request, pk, index: int):
    try:
        step_record(
            execution=_execution(pk),
            index=index,
            by=request.user.username,
            notes=request.POST.get("notes", ""),
            skip="skip" in request.POST,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("execution_detail", pk=pk)


@editor_required
@require_POST
def criterion_view(request, pk, key: str):
    try:
        criterion_tick(execution=_execution(pk), key=key, by=request.user.username, met="met" in request.POST)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("execution_detail", pk=pk)


@editor_required
@require_POST
def execution_cancel_view(request, pk):
    try:
        execution_update(
            execution=_execution(pk), by=request.user.username, status=Execution.Status.CANCELLED
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("execution_detail", pk=pk)


@login_required
def execution_report_view(request, pk):
    report = execution_report(_execution(pk))
    with_actor_text([report["execution"]])
    if request.GET.get("format") == "csv":
        return _report_csv(report)
    context = {
        "report": report,
        "execution": report["execution"],
        "comparison": execution_comparison(report["execution"]),
    }
    return render(request, "playbooks/report.html", context)


def _report_csv(report: dict) -> HttpResponse:
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="execution-{report["execution"].pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "step",
            "title",
            "responsible",
            "accountable",
            "consulted",
            "informed",
            "status",
            "done_by",
            "done_at",
        ]
    )
    for number, step in enumerate(report["steps"], start=1):
        progress = step["progress"]
        writer.writerow(
            [
                number,
                csv_safe(step["title"]),
                "; ".join(step["responsible"]),
                step["accountable"],
                "; ".join(step["consulted"]),
                "; ".join(step["informed"]),
                progress.status if progress else "pending",
                csv_safe(progress.done_by if progress else ""),
                progress.done_at.isoformat() if progress and progress.done_at else "",
            ]
        )
    return response
