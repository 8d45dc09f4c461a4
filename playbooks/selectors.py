"""Reads for playbooks: the data facts that criteria and triggers are judged on,
reports and effectiveness."""

import datetime as dt
import statistics
from collections import defaultdict

from django.db.models import F, Q
from django.utils import timezone

from kpis.models import Account, HealthSnapshot, Insight, KpiDefinition
from kpis.selectors import health_model_current
from kpis.timeline import TimelineEvent, portal_path
from playbooks.criteria import criterion_met
from playbooks.models import Execution, Playbook, StepProgress
from playbooks.schemas import SCORE_DROP_MAX_MONTHS


def account_facts(account_ids: list[int] | None = None, today: dt.date | None = None) -> dict[int, dict]:
    """Per account: latest score, band and KPI values/bands, score drops over 1–3 months,
    renewal date and this month's insight rules — in three queries."""
    version = health_model_current().version
    accounts = Account.objects.all() if account_ids is None else Account.objects.filter(pk__in=account_ids)
    history: defaultdict[int, list[HealthSnapshot]] = defaultdict(list)
    snapshots = HealthSnapshot.objects.filter(model_version=version, account__in=accounts).order_by(
        "account_id", "-period"
    )
    for snapshot in snapshots.only("account_id", "period", "score", "band", "explanation"):
        if len(history[snapshot.account_id]) <= SCORE_DROP_MAX_MONTHS:
            history[snapshot.account_id].append(snapshot)
    rules = defaultdict(set)
    for account_id, rule in Insight.objects.filter(account__in=accounts).values_list("account_id", "rule"):
        rules[account_id].add(rule)
    today = today or timezone.localdate()
    return {
        account.pk: _facts(account, history.get(account.pk, []), rules[account.pk], today)
        for account in accounts
    }


def _facts(account: Account, recent: list[HealthSnapshot], rules: set, today: dt.date) -> dict:
    latest = recent[0] if recent else None
    kpis = {
        k["kpi"]: {"value": k["value"], "band": k["band"]}
        for k in (latest.explanation.get("kpis", []) if latest else [])
    }
    drops = {
        months: recent[months].score - latest.score
        for months in range(1, SCORE_DROP_MAX_MONTHS + 1)
        if latest and len(recent) > months
    }
    return {
        "score": latest.score if latest else None,
        "band": latest.band if latest else None,
        "period": latest.period if latest else None,
        "kpis": kpis,
        "drops": drops,
        "renewal_date": account.renewal_date,
        "today": today,
        "insight_rules": rules,
    }


def kpi_ranges() -> dict[str, tuple[float, float]]:
    """This workspace's KPI keys with the lowest and highest value each can take: what a
    trigger condition or an exit criterion may name and compare against."""
    rows = KpiDefinition.objects.values_list("key", "min_value", "max_value")
    return {key: (low, high) for key, low, high in rows}


def exit_criteria_status(execution: Execution, facts: dict) -> list[dict]:
    """Each exit criterion of the execution's plan: met or not, and the value behind it."""
    rows = []
    for criterion in execution.plan.get("exit_criteria", []):
        check = criterion.get("check")
        if check:
            met, value = criterion_met(check, facts)
        else:
            ticked = execution.manual_criteria.get(criterion["key"])
            met, value = bool(ticked), ticked
        rows.append({**criterion, "met": met, "value": value, "manual": not check})
    return rows


def execution_report(execution: Execution) -> dict:
    """Everything the report shows, derived from the execution (so deleting the execution
    deletes its report)."""
    facts = account_facts([execution.account_id])[execution.account_id]
    progress = list(execution.progress.order_by("index"))
    steps = execution.plan.get("steps", [])
    return {
        "execution": execution,
        "steps": [
            {**step, "progress": progress[i] if i < len(progress) else None} for i, step in enumerate(steps)
        ],
        "outcomes": execution.plan.get("expected_outcomes", []),
        "exit_criteria": exit_criteria_status(execution, facts),
        "health_start": execution.health_at_start,
        "health_now": {"score": facts["score"], "band": facts["band"], "period": facts["period"]},
        "timeline": _timeline(execution, progress),
    }


def _timeline(execution: Execution, progress: list[StepProgress]) -> list[dict]:
    steps = execution.plan.get("steps", [])
    events = [{"at": execution.started_at, "what": f"Started by {execution.started_by}"}]
    events += [
        {
            "at": p.done_at,
            "what": f"{steps[p.index]['title']}: {p.get_status_display().lower()} by {p.done_by}",
        }
        for p in progress
        if p.done_at and p.index < len(steps)
    ]
    if execution.completed_at:
        events.append(
            {
                "at": execution.completed_at,
                "what": f"{execution.get_status_display()}: {execution.completion_reason}",
            }
        )
    return sorted(events, key=lambda event: event["at"])


def open_steps(owner: str | None = None, today: dt.date | None = None) -> list[StepProgress]:
    """Pending steps of open executions (the current one of each), overdue first."""
    today = today or timezone.localdate()
    pending = StepProgress.objects.filter(
        execution__status=Execution.Status.IN_PROGRESS, status=StepProgress.Status.PENDING
    ).select_related("execution__account", "execution__playbook")
    if owner:
        pending = pending.filter(Q(execution__owner=owner) | Q(execution__owner=""))
    steps = list(pending.filter(index=F("execution__current_step")).order_by("due_date", "index"))
    for step in steps:
        step.overdue = step.due_date < today
        step.title = step.execution.plan["steps"][step.index]["title"]
    return steps


def playbook_effectiveness(playbook: Playbook, today: dt.date | None = None) -> dict:
    """Started/completed, median days to complete, share meeting exit criteria, and health
    change 30/60/90 days after start against accounts of the same starting band that did
    not run the playbook in that window."""
    executions = list(playbook.executions.all())
    completed = [e for e in executions if e.status == Execution.Status.COMPLETED and e.completed_at]
    met = [e for e in completed if e.completion_reason.startswith("exit criteria met")]
    days = [(e.completed_at - e.started_at).days for e in completed if e.completed_at]
    scores = _scores_by_account_period(health_model_current().version) if executions else {}
    return {
        "started": len(executions),
        "completed": len(completed),
        "median_days_to_complete": statistics.median(days) if days else None,
        "met_exit_criteria_pct": round(100 * len(met) / len(completed), 1) if completed else None,
        "health_change": {window: _health_change(executions, window, scores) for window in (30, 60, 90)},
    }


def _health_change(executions: list[Execution], window: int, scores: dict) -> dict:
    """Mean score change from the start month to the month `window` days later, for the
    accounts that ran the playbook and for same-band accounts that did not."""
    ran, control = [], []
    runners = {e.account_id for e in executions}
    for execution in executions:
        start = execution.started_at.date().replace(day=1)
        end = (execution.started_at.date() + dt.timedelta(days=window)).replace(day=1)
        band = execution.health_at_start.get("band")
        change = _change(scores.get(execution.account_id, {}), start, end)
        if change is not None:
            ran.append(change)
        control += [
            c for account_id, series in scores.items()
            if account_id not in runners and series.get(start, (None, None))[1] == band
            and (c := _change(series, start, end)) is not None
        ]  # fmt: skip
    return {"ran": _mean(ran), "control": _mean(control), "accounts": len(ran)}


def _scores_by_account_period(version: int) -> dict[int, dict]:
    scores: defaultdict[int, dict[dt.date, tuple[float, str]]] = defaultdict(dict)
    for account_id, period, score, band in HealthSnapshot.objects.filter(model_version=version).values_list(
        "account_id", "period", "score", "band"
    ):
        scores[account_id][period] = (score, band)
    return scores


def _change(series: dict, start: dt.date, end: dt.date) -> float | None:
    if start not in series or end not in series or end == start:
        return None
    return series[end][0] - series[start][0]


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def account_playbook_events(account: Account, limit: int) -> list[TimelineEvent]:
    """The account's playbook runs on its timeline (kpis.timeline source): starts, completed or
    skipped steps, and completions or cancellations, newest first, at most `limit`."""
    executions = list(account.executions.order_by("-started_at")[:limit])
    ended = [execution for execution in executions if execution.completed_at]
    steps = (
        StepProgress.objects.filter(execution__account=account, done_at__isnull=False)
        .select_related("execution")
        .order_by("-done_at")[:limit]
    )
    events = [_started_event(execution) for execution in executions]
    events += [_ended_event(execution) for execution in ended]
    events += [_step_event(step) for step in steps]
    return sorted(events, key=lambda event: event.at, reverse=True)[:limit]


def _run_name(execution: Execution) -> str:
    return execution.plan.get("name", execution.playbook_id)


def _started_event(execution: Execution) -> TimelineEvent:
    owner = f"owner {execution.owner}" if execution.owner else "no owner yet"
    return TimelineEvent(
        execution.started_at,
        "playbook_started",
        f"Playbook started: {_run_name(execution)}",
        owner,
        actor_label(execution.started_by),
        portal_path("execution_detail", execution.pk),
    )


def _ended_event(execution: Execution) -> TimelineEvent:
    assert execution.completed_at is not None  # only ended runs come here
    return TimelineEvent(
        execution.completed_at,
        "playbook_ended",
        f"Playbook {execution.get_status_display().lower()}: {_run_name(execution)}",
        execution.completion_reason,
        url=portal_path("execution_detail", execution.pk),
    )


def _step_event(step: StepProgress) -> TimelineEvent:
    assert step.done_at is not None  # the query asks for done steps only
    planned = step.execution.plan.get("steps", [])
    title = planned[step.index]["title"] if step.index < len(planned) else f"Step {step.index + 1}"
    return TimelineEvent(
        step.done_at,
        "playbook_step",
        f"Step {step.get_status_display().lower()}: {title}",
        f"{_run_name(step.execution)}" + (f" — {step.notes}" if step.notes else ""),
        step.done_by,
        portal_path("execution_detail", step.execution_id),
    )


def actor_label(started_by: str) -> str:
    """`user:ann`, `trigger:4`, `api:pk_ab12` as a person reads them."""
    kind, _, who = started_by.partition(":")
    labels = {"user": "{}", "trigger": "trigger #{}", "api": "API key {}…"}
    return labels.get(kind, "{}").format(who) if who else started_by
