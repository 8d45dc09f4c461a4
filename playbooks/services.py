"""Every write about playbooks: starting executions, progressing steps, triggers."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kpis.models import Account, Insight
from playbooks.criteria import condition_met
from playbooks.models import Execution, Playbook, StepProgress, Trigger, TriggerFiring
from playbooks.selectors import account_facts, exit_criteria_status


class AlreadyOpen(ValidationError):
    def __init__(self, playbook: Playbook, account: Account):
        super().__init__(
            f"{playbook.name} is already in progress for {account.name}; finish or cancel it first."
        )


def playbook_plan(playbook: Playbook) -> dict:
    """The copy of the playbook an execution keeps (steps with RACI, outcomes, criteria)."""
    steps = [
        {"title": s.title, "description": s.description, "responsible": s.responsible, "accountable": s.accountable,
         "consulted": s.consulted, "informed": s.informed, "due_offset_days": s.due_offset_days, "required": s.required}
        for s in playbook.steps.order_by("order")
    ]  # fmt: skip
    return {"key": playbook.key, "name": playbook.name, "purpose": playbook.purpose, "steps": steps,
            "expected_outcomes": playbook.expected_outcomes, "exit_criteria": playbook.exit_criteria}  # fmt: skip


def execution_start(*, playbook: Playbook, account: Account, started_by: str, owner: str = "") -> Execution:
    """Start a run. The database refuses a second open run of the playbook for the account,
    so concurrent starters (two trigger workers, two clicks) make exactly one."""
    if not playbook.active:
        raise ValidationError(f"{playbook.name} is inactive; activate it in the catalog first.")
    now = timezone.now()
    facts = account_facts([account.pk])[account.pk]
    try:
        with transaction.atomic():
            execution = Execution.objects.create(
                playbook=playbook, account=account, plan=playbook_plan(playbook), owner=owner, started_by=started_by,
                started_at=now, health_at_start=_health_summary(facts),
            )  # fmt: skip
            StepProgress.objects.bulk_create(
                StepProgress(
                    execution=execution,
                    index=i,
                    due_date=now.date() + dt.timedelta(days=s["due_offset_days"]),
                )
                for i, s in enumerate(execution.plan["steps"])
            )
    except IntegrityError as error:
        raise AlreadyOpen(playbook, account) from error
    return execution


def _health_summary(facts: dict) -> dict:
    period = facts["period"]
    return {"score": facts["score"], "band": facts["band"], "period": period.isoformat() if period else None}


@transaction.atomic
def step_record(
    *, execution: Execution, index: int, by: str, notes: str = "", skip: bool = False
) -> Execution:
    """Complete (or skip) a step; the execution completes after its last required step
    or as soon as every exit criterion is met."""
    execution = Execution.objects.select_for_update().get(pk=execution.pk)
    if execution.status != Execution.Status.IN_PROGRESS:
        raise ValidationError(
            f"This execution is {execution.get_status_display().lower()}; steps can no longer change."
        )
    steps = execution.plan.get("steps", [])
    if not 0 <= index < len(steps):
        raise ValidationError(f"There is no step {index + 1}; this playbook has {len(steps)} steps.")
    if skip and steps[index].get("required", True):
        raise ValidationError(f"“{steps[index]['title']}” is required and cannot be skipped.")
    status = StepProgress.Status.SKIPPED if skip else StepProgress.Status.COMPLETED
    StepProgress.objects.filter(execution=execution, index=index).update(
        status=status, notes=notes, done_by=by, done_at=timezone.now()
    )
    _advance(execution)
    return execution


def _advance(execution: Execution) -> None:
    pending = execution.progress.filter(status=StepProgress.Status.PENDING).order_by("index")
    required_left = [p for p in pending if execution.plan["steps"][p.index].get("required", True)]
    execution.current_step = pending[0].index if pending else len(execution.plan["steps"])
    if not required_left:
        _complete(execution, "all required steps done")
    elif _criteria_all_met(execution):
        _complete(execution, "exit criteria met")
    else:
        execution.save(update_fields=["current_step"])


def _criteria_all_met(execution: Execution) -> bool:
    criteria = exit_criteria_status(execution, account_facts([execution.account_id])[execution.account_id])
    return bool(criteria) and all(c["met"] for c in criteria)


def _complete(execution: Execution, reason: str) -> None:
    if reason != "exit criteria met" and _criteria_all_met(execution):
        reason = "exit criteria met (all required steps done)"
    execution.status = Execution.Status.COMPLETED
    execution.completed_at = timezone.now()
    execution.completion_reason = reason
    execution.save(update_fields=["status", "completed_at", "completion_reason", "current_step"])


@transaction.atomic
def criterion_tick(*, execution: Execution, key: str, by: str, met: bool = True) -> Execution:
    """Tick (or untick) a manual exit criterion; may complete the execution."""
    execution = Execution.objects.select_for_update().get(pk=execution.pk)
    manual = {c["key"] for c in execution.plan.get("exit_criteria", []) if not c.get("check")}
    if key not in manual:
        raise ValidationError(f"“{key}” is not a manual exit criterion of this playbook.")
    if execution.status != Execution.Status.IN_PROGRESS:
        raise ValidationError("Only an execution in progress can change.")
    if met:
        execution.manual_criteria[key] = {"by": by, "at": timezone.now().isoformat()}
    else:
        execution.manual_criteria.pop(key, None)
    execution.save(update_fields=["manual_criteria"])
    if _criteria_all_met(execution):
        _complete(execution, "exit criteria met")
    return execution


def execution_update(*, execution: Execution, by: str, **changes) -> Execution:
    """Owner, notes, or cancelling (status=cancelled)."""
    allowed = {"owner", "notes", "status"}
    if set(changes) - allowed:
        raise ValidationError(f"Only {', '.join(sorted(allowed))} can change.")
    if changes.get("status") not in (None, Execution.Status.CANCELLED):
        raise ValidationError(
            "Status can only be set to cancelled; steps and criteria complete an execution."
        )
    if changes.get("status") and execution.status != Execution.Status.IN_PROGRESS:
        raise ValidationError("Only an execution in progress can be cancelled.")
    for name, value in changes.items():
        setattr(execution, name, value)
    if changes.get("status"):
        execution.completed_at, execution.completion_reason = timezone.now(), f"cancelled by {by}"
    execution.save()
    return execution


# --- triggers -----------------------------------------------------------------------------------


def triggers_evaluate(*, account_ids: list[int] | None = None, now: dt.datetime | None = None) -> int:
    """Evaluate every enabled trigger for the accounts (all when None). Idempotent:
    cooldowns, the one-open-execution constraint and unique suggestions make a second
    run create nothing. Returns how many executions or suggestions were created."""
    now = now or timezone.now()
    facts = account_facts(account_ids, today=now.date())
    created = 0
    for trigger in Trigger.objects.filter(enabled=True, playbook__active=True).select_related("playbook"):
        created += sum(_fire(trigger, account_id, facts[account_id], now) for account_id in facts)
        Trigger.objects.filter(pk=trigger.pk).update(last_evaluated_at=now)
    return created


def _fire(trigger: Trigger, account_id: int, facts: dict, now: dt.datetime) -> bool:
    met, why = condition_met(trigger.condition, facts)
    if not met or _cooling_down(trigger, account_id, now):
        return False
    account = Account.objects.get(pk=account_id)
    if trigger.action == Trigger.Action.AUTO_START:
        try:
            execution = execution_start(
                playbook=trigger.playbook, account=account, started_by=f"trigger:{trigger.pk}"
            )
        except AlreadyOpen:
            return False
    else:
        execution = None
        if not _suggest(trigger, account, why, now):
            return False
    TriggerFiring.objects.create(trigger=trigger, account=account, fired_at=now, execution=execution)
    Trigger.objects.filter(pk=trigger.pk).update(
        last_triggered_at=now, times_triggered=trigger.times_triggered + 1
    )
    trigger.times_triggered += 1
    return True


def _cooling_down(trigger: Trigger, account_id: int, now: dt.datetime) -> bool:
    since = now - dt.timedelta(days=trigger.cooldown_days)
    return TriggerFiring.objects.filter(trigger=trigger, account_id=account_id, fired_at__gt=since).exists()


def _suggest(trigger: Trigger, account: Account, why: str, now: dt.datetime) -> bool:
    """An insight with a one-click start; at most one per account, playbook and month."""
    _insight, created = Insight.objects.get_or_create(
        account=account, rule=Insight.Rule.PLAYBOOK_SUGGESTED, subject=trigger.playbook.key,
        period=now.date().replace(day=1),
        defaults={"severity": Insight.Severity.INFO, "title": f"{account.name}: run {trigger.playbook.name}?",
                  "detail": f"Suggested because {why}.", "data": {"playbook": trigger.playbook.key, "trigger": trigger.pk}},
    )  # fmt: skip
    return created
