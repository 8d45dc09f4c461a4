"""Every write about playbooks: edits, starting executions, progressing steps, triggers."""

import datetime as dt
import logging
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from ingest.models import Alert
from kpis.catalog.sync import SyncReport, entries_sync
from kpis.models import Account, Insight
from kpis.selectors import teammate_named
from kpis.services import kpi_catalog_sync
from playbooks import catalog
from playbooks.criteria import condition_met, condition_sentence
from playbooks.models import (
    CatalogState,
    Execution,
    HoldoutDraw,
    Playbook,
    PlaybookStep,
    StepProgress,
    Trigger,
    TriggerFiring,
)
from playbooks.schemas import (
    Kpis,
    Problems,
    condition_problems,
    describe,
    exit_criteria_problems,
    trigger_problems,
)
from playbooks.selectors import (
    CATALOG_STATE_ROW,
    account_facts,
    catalogs_fingerprint,
    exit_criteria_status,
    kpi_ranges,
)
from users.audit import SYSTEM, audit_record
from users.models import User

logger = logging.getLogger(__name__)

# Failures of the database connection or the worker's time limit, not of one trigger: the
# run stops and the next one (every 15 minutes, or the next upload) tries again.
NOT_THE_TRIGGERS_FAULT = (OperationalError, InterfaceError, SoftTimeLimitExceeded)


class AlreadyOpen(ValidationError):
    def __init__(self, playbook: Playbook, account: Account):
        super().__init__(
            f"{playbook.name} is already in progress for {account.name}; finish or cancel it first."
        )


STEP_FIELDS = (
    "title",
    "description",
    "responsible",
    "accountable",
    "consulted",
    "informed",
    "due_offset_days",
    "required",
)


def step_values(step: PlaybookStep) -> dict:
    return {name: getattr(step, name) for name in STEP_FIELDS}


def playbook_plan(playbook: Playbook) -> dict:
    """The copy of the playbook an execution keeps (steps with RACI, outcomes, criteria)."""
    steps = [step_values(s) for s in playbook.steps.order_by("order")]
    return {
        "key": playbook.key,
        "name": playbook.name,
        "purpose": playbook.purpose,
        "steps": steps,
        "expected_outcomes": playbook.expected_outcomes,
        "exit_criteria": playbook.exit_criteria,
    }


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
                playbook=playbook,
                account=account,
                plan=playbook_plan(playbook),
                owner=owner,
                started_by=started_by,
                started_at=now,
                health_at_start=_health_summary(facts),
            )
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
    _owner_tell(execution)
    return execution


def _owner_tell(execution: Execution) -> None:
    """E-mail the run's (new) owner once the write is committed: its steps are now theirs."""
    from playbooks.tasks import execution_assigned_notify  # tasks import this module

    if execution.owner:
        transaction.on_commit(lambda: execution_assigned_notify.delay(str(execution.pk), execution.owner))


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
    new_owner = changes.get("owner", execution.owner) != execution.owner
    for name, value in changes.items():
        setattr(execution, name, value)
    if changes.get("status"):
        execution.completed_at, execution.completion_reason = timezone.now(), f"cancelled by {by}"
    execution.save()
    if new_owner:
        _owner_tell(execution)
    return execution


# --- playbook and trigger edits -----------------------------------------------------------------

PLAYBOOK_EDITABLE = (
    "name",
    "purpose",
    "when_to_use",
    "expected_duration_days",
    "expected_outcomes",
    "exit_criteria",
    "active",
)
HOLDOUT_FIELDS = ("holdout_share", "holdout_delay_days", "holdout_reason", "holdout_critical_renewals")
CALM_FIELDS = ("fallback_owner", "max_starts_per_evaluation")
TRIGGER_EDITABLE = (
    "playbook",
    "condition",
    "action",
    "cooldown_days",
    "enabled",
    *CALM_FIELDS,
    *HOLDOUT_FIELDS,
)
MAX_STARTS_LIMIT = 500
HOLDOUT_MAX_SHARE = 0.5
HOLDOUT_MAX_DELAY_DAYS = 365
# A critical account this close to its renewal is never held out unless the admin says so.
HOLDOUT_PROTECTED_RENEWAL_DAYS = 30


class Invalid(ValidationError):
    """Problems keyed by field path: condition.bands, exit_criteria[0].check.kpi."""

    def __init__(self, problems: Problems):
        super().__init__({path: [message] for path, message in problems.items()})


def _only(changes: dict, editable: tuple[str, ...]) -> None:
    if set(changes) - set(editable):
        raise ValidationError(f"Only {', '.join(editable)} can change.")


def exit_criteria_validate(exit_criteria) -> None:
    """Raises Invalid naming every problem of the criteria, checked whole."""
    problems = exit_criteria_problems(exit_criteria, kpis=kpi_ranges())
    if problems:
        raise Invalid(problems)


@transaction.atomic
def playbook_update(*, playbook: Playbook, **changes) -> Playbook:
    """Change a playbook's texts, duration, outcomes, exit criteria or active flag."""
    _only(changes, PLAYBOOK_EDITABLE)
    if "exit_criteria" in changes:
        exit_criteria_validate(changes["exit_criteria"])
    for name, value in changes.items():
        setattr(playbook, name, value)
    playbook.save(update_fields=[*changes, "updated_at"])
    return playbook


def trigger_validate(*, trigger: Trigger | None = None, **changes) -> bool:
    """Raises Invalid unless the trigger with `changes` applied is valid as a whole; returns
    whether it was checked. Switching a trigger off alone is not checked, so one saved
    before validation existed can always be silenced."""
    _only(changes, TRIGGER_EDITABLE)
    values = {name: getattr(trigger, name) for name in TRIGGER_EDITABLE} if trigger else {}
    values.update(changes)
    if trigger and not values["enabled"] and _same_rule(trigger, values):
        return False
    problems = trigger_problems(
        condition=values.get("condition"),
        action=values.get("action"),
        cooldown_days=values.get("cooldown_days"),
        kpis=kpi_ranges(),
    )
    problems.update(holdout_problems(values))
    problems.update(calm_problems(values))
    if problems:
        raise Invalid(problems)
    return True


def holdout_problems(values: dict) -> Problems:
    """The holdout settings: a share from 0 to half, a delay under a year, and a reason
    whenever accounts are held out (the team sees it on the trigger)."""
    share = values.get("holdout_share", 0)
    delay = values.get("holdout_delay_days", 0)
    problems: Problems = {}
    if not isinstance(share, int | float) or not 0 <= share <= HOLDOUT_MAX_SHARE:
        problems["holdout_share"] = "Give a share from 0 to 0.5 (e.g. 0.15 holds out 15% of the accounts)."
    if not isinstance(delay, int) or not 0 <= delay <= HOLDOUT_MAX_DELAY_DAYS:
        problems["holdout_delay_days"] = f"Give whole days from 0 (never run) to {HOLDOUT_MAX_DELAY_DAYS}."
    if isinstance(share, int | float) and share > 0 and not str(values.get("holdout_reason") or "").strip():
        problems["holdout_reason"] = "Say why accounts are held out; the team sees it on the trigger."
    return problems


def calm_problems(values: dict) -> Problems:
    """The fallback owner is an active teammate (or empty); the cap a whole number from 1."""
    problems: Problems = {}
    fallback = values.get("fallback_owner") or ""
    if not isinstance(fallback, str) or (fallback and _active_username(fallback) is None):
        problems["fallback_owner"] = (
            f"No active teammate with the username “{fallback}”; give one from Settings → Team, or leave it empty."
        )
    cap = values.get("max_starts_per_evaluation", 25)
    if not isinstance(cap, int) or isinstance(cap, bool) or not 1 <= cap <= MAX_STARTS_LIMIT:
        problems["max_starts_per_evaluation"] = f"Give a whole number of runs from 1 to {MAX_STARTS_LIMIT}."
    return problems


def _active_username(username: str) -> str | None:
    return User.objects.filter(username=username, is_active=True).values_list("username", flat=True).first()


def _same_rule(trigger: Trigger, values: dict) -> bool:
    return all(values[name] == getattr(trigger, name) for name in ("condition", "action", "cooldown_days"))


@transaction.atomic
def trigger_create(
    *,
    playbook: Playbook,
    condition: dict,
    action: str = Trigger.Action.SUGGEST,
    cooldown_days: int = 30,
    enabled: bool = True,
    actor: str = SYSTEM,
    **settings,
) -> Trigger:
    """`settings`: any of CALM_FIELDS and HOLDOUT_FIELDS (none: the defaults, nobody held out)."""
    rule: dict[str, Any] = {
        "condition": condition,
        "action": action,
        "cooldown_days": cooldown_days,
        "enabled": enabled,
        **settings,
    }
    trigger_validate(**rule)
    trigger = Trigger.objects.create(playbook=playbook, **rule)
    _trigger_audit(trigger=trigger, actor=actor, action="created", detail=rule)
    return trigger


@transaction.atomic
def trigger_update(*, trigger: Trigger, actor: str = SYSTEM, **changes) -> Trigger:
    """Change a trigger. Once it passes validation the error evaluation recorded is cleared;
    the next evaluation records one again only if the trigger still fails."""
    checked = trigger_validate(trigger=trigger, **changes)
    for name, value in changes.items():
        setattr(trigger, name, value)
    fields = list(changes)
    if checked:
        trigger.last_error = ""
        fields.append("last_error")
    # Only these columns: evaluation updates the same row's counters concurrently.
    trigger.save(update_fields=fields)
    _trigger_audit(trigger=trigger, actor=actor, action="changed", detail=changes)
    return trigger


def _trigger_audit(*, trigger: Trigger, actor: str, action: str, detail: dict) -> None:
    target = f"{trigger.playbook.name} trigger #{trigger.pk}"
    audit_record(actor=actor, action=action, target_type="trigger", target=target, detail=detail)


def trigger_holdout_stop(*, trigger: Trigger, actor: str = SYSTEM) -> Trigger:
    """Stop holding accounts out: from now on every account it fires for runs. The draws made
    so far stay as they were: they are the comparison group of the runs before."""
    return trigger_update(trigger=trigger, actor=actor, holdout_share=0.0)


# --- trigger evaluation ---------------------------------------------------------------------------


def triggers_evaluate(*, account_ids: list[int] | None = None, now: dt.datetime | None = None) -> int:
    """Evaluate every enabled trigger for the accounts (all when None). Idempotent:
    cooldowns, the one-open-execution constraint and unique suggestions make a second
    run create nothing. Returns how many executions or suggestions were created."""
    now = now or timezone.now()
    facts = account_facts(account_ids, today=now.date())
    kpis = kpi_ranges()
    triggers = Trigger.objects.filter(enabled=True, playbook__active=True).select_related("playbook")
    return sum(_trigger_evaluate(trigger, facts, kpis, now) for trigger in triggers)


def _trigger_evaluate(trigger: Trigger, facts: dict, kpis: Kpis, now: dt.datetime) -> int:
    """One trigger in isolation: when its condition is invalid (saved before validation) or
    evaluating it fails, it is skipped, the reason recorded and alerted, and the rest run."""
    problems = condition_problems(trigger.condition, kpis=kpis)
    if problems:
        _trigger_broken(trigger, describe(problems))
        return 0
    try:
        with transaction.atomic():  # a savepoint: a database error here leaves the others' work intact
            budget = Budget(trigger.max_starts_per_evaluation)
            created = sum(_fire(trigger, account_id, facts[account_id], now, budget) for account_id in facts)
            created += _delayed_runs_start(trigger, now, budget)
            created += _capped_summary(trigger, budget, now)
    except NOT_THE_TRIGGERS_FAULT:
        raise
    except Exception as error:
        logger.exception("Trigger %s failed; the other triggers still run", trigger.pk)
        _trigger_broken(trigger, f"Evaluating it failed: {error}".strip())
        return 0
    Trigger.objects.filter(pk=trigger.pk).update(last_evaluated_at=now, last_error="")
    return created


def _trigger_broken(trigger: Trigger, error: str) -> None:
    """Record why on the trigger. The worker that records the first error since the trigger
    last ran (or was fixed) raises the one Alert, so a broken trigger alerts once, not
    every 15 minutes."""
    first = Trigger.objects.filter(pk=trigger.pk, last_error="").update(last_error=error)
    if not first:
        Trigger.objects.filter(pk=trigger.pk).update(last_error=error)
        return
    Alert.objects.create(
        kind=Alert.Kind.TRIGGER_BROKEN,
        message=f"Playbook trigger {trigger.pk} of {trigger.playbook.name} is skipped: {error} "
        "Fix its condition on the playbook's page or in the admin, or switch it off; the other triggers still run.",
    )


@dataclass
class Budget:
    """The runs one evaluation of a trigger may still start, and the accounts it could not."""

    left: int
    capped: list[Account] = field(default_factory=list)


def _fire(trigger: Trigger, account_id: int, facts: dict, now: dt.datetime, budget: Budget) -> bool:
    met, why = condition_met(trigger.condition, facts)
    if not met or _cooling_down(trigger, account_id, now):
        return False
    account = Account.objects.get(pk=account_id)
    execution = None
    if not _holdout_draw(trigger, account, facts, now).held_out:
        acted, execution = _act(trigger, account, why, now, budget)
        if not acted:
            return False
    TriggerFiring.objects.create(trigger=trigger, account=account, fired_at=now, execution=execution)
    Trigger.objects.filter(pk=trigger.pk).update(
        last_triggered_at=now, times_triggered=trigger.times_triggered + 1
    )
    trigger.times_triggered += 1
    return True


def _act(
    trigger: Trigger, account: Account, why: str, now: dt.datetime, budget: Budget
) -> tuple[bool, Execution | None]:
    """Start the run or suggest it; (whether anything was made or decided, the run started).
    A run needs an owner: with none the run is only suggested. Past the evaluation's cap the
    account goes into the summary insight instead (it fires, so it is not started later)."""
    owner = run_owner(trigger, account) if trigger.action == Trigger.Action.AUTO_START else ""
    if not owner:
        return _suggest(trigger, account, why, now), None
    if _is_open(trigger.playbook, account):
        return False, None
    if budget.left <= 0:
        budget.capped.append(account)
        return True, None
    try:
        execution = execution_start(
            playbook=trigger.playbook, account=account, started_by=f"trigger:{trigger.pk}", owner=owner
        )
    except AlreadyOpen:
        return False, None
    budget.left -= 1
    return True, execution


def run_owner(trigger: Trigger, account: Account) -> str:
    """Who owns a run the trigger starts: the account's owner when that is an active teammate,
    else the trigger's fallback owner (if still active); empty when neither."""
    teammate = teammate_named(account.owner)
    if teammate is not None and teammate.is_active:
        return teammate.username
    return (trigger.fallback_owner and _active_username(trigger.fallback_owner)) or ""


def _is_open(playbook: Playbook, account: Account) -> bool:
    return Execution.objects.filter(
        playbook=playbook, account=account, status=Execution.Status.IN_PROGRESS
    ).exists()


def _capped_summary(trigger: Trigger, budget: Budget, now: dt.datetime) -> int:
    """One insight naming the accounts past the cap. Insights belong to an account, so it sits
    on the first of them; its subject names the evaluation, so every capped run has its own."""
    if not budget.capped:
        return 0
    names = ", ".join(account.name for account in budget.capped)
    Insight.objects.create(
        account=budget.capped[0],
        rule=Insight.Rule.PLAYBOOK_SUGGESTED,
        subject=f"capped:{trigger.pk}:{now:%Y%m%d%H%M%S}",
        period=now.date().replace(day=1),
        severity=Insight.Severity.WARNING,
        title=f"{len(budget.capped)} more accounts are due for {trigger.playbook.name}",
        detail=f"Trigger “{condition_sentence(trigger.condition)}” started {trigger.max_starts_per_evaluation} runs, "
        f"its limit for one evaluation; these were not started: {names}. Start the ones that need it from the "
        "playbook's page, or raise the trigger's limit.",
        data={
            "trigger": trigger.pk,
            "cap": trigger.max_starts_per_evaluation,
            "accounts": [account.pk for account in budget.capped],
        },
    )
    return 1


def holdout_roll() -> float:
    """A uniform draw in [0, 1) from the system's entropy: which accounts are held out must be
    unpredictable to whoever set the trigger."""
    return random.SystemRandom().random()


def _holdout_draw(trigger: Trigger, account: Account, facts: dict, now: dt.datetime) -> HoldoutDraw:
    """The account's draw for this trigger: the recorded one, or a new one recorded now.
    An account with no draw while the trigger holds none out gets an unsaved `runs` draw, so
    it is drawn when holding out starts."""
    draw = HoldoutDraw.objects.filter(trigger=trigger, account=account).first()
    if draw or not trigger.holdout_share:
        return draw or HoldoutDraw(trigger=trigger, account=account, held_out=False)
    kept_because = _protected(trigger, facts)
    return HoldoutDraw.objects.create(
        trigger=trigger,
        account=account,
        drawn_at=now,
        delay_days=trigger.holdout_delay_days,
        held_out=not kept_because and holdout_roll() < trigger.holdout_share,
        kept_because=kept_because,
    )


def _protected(trigger: Trigger, facts: dict) -> str:
    """Why the account is never held out (empty when it may be): critical with a renewal
    under 30 days away, unless the admin allowed holding those out too."""
    renewal, today = facts.get("renewal_date"), facts["today"]
    if trigger.holdout_critical_renewals or facts.get("band") != "critical" or renewal is None:
        return ""
    days = (renewal - today).days
    if 0 <= days < HOLDOUT_PROTECTED_RENEWAL_DAYS:
        return f"critical with its renewal in {days} days"
    return ""


def _delayed_runs_start(trigger: Trigger, now: dt.datetime, budget: Budget) -> int:
    """Held-out accounts whose delay has passed get their run (or suggestion) now; each draw
    is claimed with a conditional update first, so two evaluations start it once."""
    started = 0
    for draw in trigger.draws.filter(
        held_out=True, delay_days__gt=0, delayed_run_at__isnull=True
    ).select_related("account"):
        if draw.drawn_at + dt.timedelta(days=draw.delay_days) > now:
            continue
        if HoldoutDraw.objects.filter(pk=draw.pk, delayed_run_at__isnull=True).update(delayed_run_at=now):
            why = f"its holdout of {draw.delay_days} days ended"
            started += _act(trigger, draw.account, why, now, budget)[0]
    return started


def _cooling_down(trigger: Trigger, account_id: int, now: dt.datetime) -> bool:
    since = now - dt.timedelta(days=trigger.cooldown_days)
    return TriggerFiring.objects.filter(trigger=trigger, account_id=account_id, fired_at__gt=since).exists()


def _suggest(trigger: Trigger, account: Account, why: str, now: dt.datetime) -> bool:
    """An insight with a one-click start; at most one per account, playbook and month, and
    none while the playbook is already open for the account."""
    if _is_open(trigger.playbook, account):
        return False
    _insight, created = Insight.objects.get_or_create(
        account=account,
        rule=Insight.Rule.PLAYBOOK_SUGGESTED,
        subject=trigger.playbook.key,
        period=now.date().replace(day=1),
        defaults={
            "severity": Insight.Severity.INFO,
            "title": f"{account.name}: run {trigger.playbook.name}?",
            "detail": f"Suggested because {why}.",
            "data": {"playbook": trigger.playbook.key, "trigger": trigger.pk},
        },
    )
    return created


# --- the catalog ----------------------------------------------------------------------------------

# What the catalog ships of a playbook (with its steps) and of a default trigger; `active` and
# `enabled` are the tenant's own switches.
PLAYBOOK_CATALOG_FIELDS = tuple(name for name in PLAYBOOK_EDITABLE if name != "active")
TRIGGER_CATALOG_FIELDS = ("condition", "action", "cooldown_days")


def catalog_sync(*, schema_name: str) -> SyncReport:
    """Both catalogs into one schema, in one transaction of its own, KPIs first (playbooks
    name them): a failure leaves that schema as it was and no other schema is touched."""
    with schema_context(schema_name), transaction.atomic():
        report = kpi_catalog_sync() + playbook_catalog_sync()
        CatalogState.objects.update_or_create(
            pk=CATALOG_STATE_ROW,
            defaults={"fingerprint": catalogs_fingerprint(), "synced_at": timezone.now()},
        )
        return report


@transaction.atomic
def playbook_catalog_sync(*, shipped: catalog.PlaybookCatalog | None = None) -> SyncReport:
    """Bring this schema's playbooks (with their steps) and default triggers up to the shipped
    catalog, never overwriting a tenant's edits (kpis/catalog/sync.py has the rule)."""
    shipped = shipped or catalog.SHIPPED
    report = SyncReport()
    entries_sync(
        {spec.key: _shipped_playbook(spec) for spec in shipped.playbooks},
        {playbook.key: playbook for playbook in Playbook.objects.prefetch_related("steps")},
        read=lambda playbook: {
            **{name: getattr(playbook, name) for name in PLAYBOOK_CATALOG_FIELDS},
            "steps": [step_values(step) for step in playbook.steps.all()],
        },
        write=_playbook_write,
        label=lambda key: f"playbook {key}",
        report=report,
    )
    playbooks = Playbook.objects.in_bulk([spec.key for spec in shipped.playbooks], field_name="key")
    for spec in shipped.playbooks:
        _triggers_sync(spec, playbooks[spec.key], report)
    return report


def _shipped_playbook(spec: catalog.PlaybookSpec) -> dict:
    """The playbook as its row and its step rows hold it."""
    return {
        **{name: getattr(spec, name) for name in PLAYBOOK_CATALOG_FIELDS},
        "expected_outcomes": list(spec.expected_outcomes),
        "exit_criteria": [asdict(criterion) for criterion in spec.exit_criteria],
        "steps": [
            {
                "title": step.title,
                "description": step.description,
                "responsible": list(step.raci.responsible),
                "accountable": step.raci.accountable,
                "consulted": list(step.raci.consulted),
                "informed": list(step.raci.informed),
                "due_offset_days": step.due_offset_days,
                "required": step.required,
            }
            for step in spec.steps
        ],
    }


def _playbook_write(key: str, playbook: Playbook | None, values: dict, fingerprint: str) -> None:
    """Executions keep their own copy of the steps (playbook_plan), so replacing the steps
    never rewrites a run's history."""
    playbook = playbook or Playbook(key=key)
    for name in PLAYBOOK_CATALOG_FIELDS:
        setattr(playbook, name, values[name])
    playbook.catalog_fingerprint = fingerprint
    playbook.save()
    playbook.steps.all().delete()
    PlaybookStep.objects.bulk_create(
        PlaybookStep(playbook=playbook, order=order, **{name: step[name] for name in STEP_FIELDS})
        for order, step in enumerate(values["steps"], start=1)
    )


def _triggers_sync(spec: catalog.PlaybookSpec, playbook: Playbook, report: SyncReport) -> None:
    """The playbook's default triggers by catalog key; the tenant's own have none."""
    entries_sync(
        {
            default.key: {name: getattr(default, name) for name in TRIGGER_CATALOG_FIELDS}
            for default in spec.triggers
        },
        {trigger.catalog_key: trigger for trigger in playbook.triggers.exclude(catalog_key="")},
        read=lambda trigger: {name: getattr(trigger, name) for name in TRIGGER_CATALOG_FIELDS},
        write=lambda key, trigger, values, fingerprint: _trigger_write(
            playbook, key, trigger, values, fingerprint
        ),
        label=lambda key: f"trigger {key} of playbook {spec.key}",
        report=report,
    )


def _trigger_write(
    playbook: Playbook, key: str, trigger: Trigger | None, values: dict, fingerprint: str
) -> None:
    if trigger is None:
        Trigger.objects.create(playbook=playbook, catalog_key=key, catalog_fingerprint=fingerprint, **values)
        return
    for name, value in {**values, "catalog_fingerprint": fingerprint, "last_error": ""}.items():
        setattr(trigger, name, value)
    # Only these columns: evaluation updates the same row's counters concurrently.
    trigger.save(update_fields=[*values, "catalog_fingerprint", "last_error"])
