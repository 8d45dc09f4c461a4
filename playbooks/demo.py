"""Playbook runs for the demo tenant: three in progress for TechCorp Solutions and a few
finished ones with reports, started in the past so due dates have data; and two years of
triggered runs with holdouts whose effect is known, so the effectiveness figures say
something (two playbooks help, one does nothing, one has too few accounts to tell)."""

import datetime as dt
from collections import defaultdict

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, F, Max
from django.utils import timezone

from kpis.models import Account, HealthSnapshot
from kpis.selectors import health_model_current
from kpis.services import health_refresh
from playbooks.models import Execution, HoldoutDraw, Playbook, StepProgress, Trigger, TriggerFiring
from playbooks.services import execution_start, playbook_plan, step_record, trigger_update

IN_PROGRESS = [("voc_sprint", 12, 3), ("expansion_timing", 30, 2), ("renewal_safeguard", 9, 1)]
FINISHED = [("Acme Corp", "expansion_timing", 75), ("Ironbridge Industrial", "adoption_rescue", 95)]


@transaction.atomic
def demo_playbooks_load() -> int:
    """Returns how many executions it made."""
    techcorp = Account.objects.get(name="TechCorp Solutions")
    for key, days_ago, steps_done in IN_PROGRESS:
        _run(key, techcorp, days_ago, steps_done)
    made = len(IN_PROGRESS)
    for account_name, key, days_ago in FINISHED:
        account = Account.objects.filter(name=account_name).first()
        if account:
            _run(key, account, days_ago, steps_done=None)
            made += 1
    return made


def _run(key: str, account: Account, days_ago: int, steps_done: int | None) -> Execution:
    """Start, complete `steps_done` steps (all when None), then move it all back in time."""
    execution = execution_start(
        playbook=Playbook.objects.get(key=key), account=account, started_by="user:admin", owner="admin"
    )
    total = len(execution.plan["steps"])
    for index in range(total if steps_done is None else steps_done):
        execution = step_record(execution=execution, index=index, by="admin", notes="Done in the demo.")
        if execution.status != Execution.Status.IN_PROGRESS:  # optional steps left: it is complete
            break
    _backdate(execution, dt.timedelta(days=days_ago))
    return execution


def _backdate(execution: Execution, delta: dt.timedelta) -> None:
    execution.refresh_from_db()
    Execution.objects.filter(pk=execution.pk).update(
        started_at=F("started_at") - delta,
        completed_at=F("completed_at") - delta + dt.timedelta(days=min(delta.days - 1, 40)),
    )
    StepProgress.objects.filter(execution=execution).update(due_date=F("due_date") - delta)
    done = StepProgress.objects.filter(execution=execution, done_at__isnull=False).order_by("index")
    for offset, progress in enumerate(done):
        progress.done_at = timezone.now() - delta + dt.timedelta(days=2 * offset + 1)
        progress.save(update_fields=["done_at"])


# --- two years of history with holdouts ----------------------------------------------------------

HISTORY_DAYS = 730
# (playbook, true mean effect on health in points, its spread between accounts, share held
# out, accounts drawn): two help, one does nothing, and one helps some accounts and hurts
# others, with too few accounts behind it to tell which way it goes on average.
HISTORY = [
    ("renewal_safeguard", 10.0, 0.0, 0.2, 160),
    ("adoption_rescue", 7.0, 0.0, 0.2, 160),
    ("voc_sprint", 0.0, 0.0, 0.3, 320),
    ("executive_business_review", 3.0, 12.0, 0.25, 50),
]
HISTORY_REASON = "Measure the playbook against accounts that do not get it."
RUN_DAYS = 35  # how long a demo run takes from start to completion


@transaction.atomic
def demo_playbook_history_load(today: dt.date | None = None, seed: int = 19) -> int:
    """Draws (held out or not) spread over the last two years on the playbooks' own triggers,
    a completed run for every account not held out, and the playbook's true effect added to
    those accounts' KPIs from the month after the start (half) and the month after (whole),
    then their health recomputed. Returns how many accounts were drawn."""
    today = today or timezone.localdate()
    rng = np.random.default_rng(seed)
    history = _health_history()
    boosts: dict[tuple[int, dt.date], float] = defaultdict(float)
    drawn = 0
    for key, *plan in HISTORY:
        playbook = Playbook.objects.get(key=key)
        triggers = list(playbook.triggers.order_by("pk"))
        for trigger in triggers:
            trigger_update(trigger=trigger, holdout_share=plan[2], holdout_reason=HISTORY_REASON)
        drawn += _history_of(playbook, triggers, plan, rng, history, today, boosts)
    _trigger_counts_update()
    _kpis_boost(boosts)
    health_refresh(account_ids=sorted({account_id for account_id, _month in boosts}))
    return drawn


def _health_history() -> dict[int, dict[dt.date, tuple[float, str]]]:
    history: dict[int, dict] = defaultdict(dict)
    snapshots = HealthSnapshot.objects.filter(model_version=health_model_current().version)
    for account_id, period, score, band in snapshots.values_list("account_id", "period", "score", "band"):
        history[account_id][period] = (score, band)
    return history


def _history_of(playbook, triggers, plan, rng, history, today, boosts) -> int:
    """One playbook's draws; returns how many were made."""
    effect, spread, share, draws = plan
    pairs = [(trigger, account_id) for trigger in triggers for account_id in sorted(history)]
    picked = rng.choice(len(pairs), size=min(draws, len(pairs)), replace=False)
    made = []
    for trigger, account_id in (pairs[i] for i in picked):
        months = _startable_months(history[account_id], today)
        if not months:
            continue
        start = months[rng.integers(len(months))] + dt.timedelta(days=int(rng.integers(1, 26)))
        held_out = bool(rng.random() < share)
        made.append((trigger, account_id, start, held_out))
        if not held_out:
            _boost(boosts, account_id, start, effect + spread * rng.normal(), history[account_id])
    _rows_create(playbook, made, history)
    return len(made)


def _startable_months(series: dict, today: dt.date) -> list[dt.date]:
    """Months in the last two years with health then and three months later."""
    since = today - dt.timedelta(days=HISTORY_DAYS)
    return [month for month in sorted(series) if month >= since and _months_later(month, 3) in series]


def _months_later(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _boost(boosts: dict, account_id: int, start: dt.date, effect: float, series: dict) -> None:
    first = start.replace(day=1)
    for month in series:
        months_after = (month.year - first.year) * 12 + month.month - first.month
        if months_after >= 1:
            boosts[account_id, month] += effect * min(1.0, months_after / 2)


def _rows_create(playbook: Playbook, made: list, history: dict) -> None:
    """The draws, firings and completed runs (with their steps done) in bulk."""
    plan = playbook_plan(playbook)
    moments = {(t.pk, a): timezone.make_aware(dt.datetime.combine(s, dt.time(9))) for t, a, s, _h in made}
    runs = Execution.objects.bulk_create(
        _completed_run(
            playbook, plan, trigger, account_id, moments[trigger.pk, account_id], history[account_id]
        )
        for trigger, account_id, _start, held_out in made
        if not held_out
    )
    run_of = {(run.started_by, run.account_id, run.started_at): run for run in runs}
    StepProgress.objects.bulk_create(
        StepProgress(
            execution=run,
            index=i,
            status=StepProgress.Status.COMPLETED,
            due_date=run.started_at.date(),
            done_by="demo",
            done_at=run.started_at + dt.timedelta(days=2 * i + 1),
        )
        for run in runs
        for i in range(len(plan["steps"]))
    )
    HoldoutDraw.objects.bulk_create(
        HoldoutDraw(
            trigger=trigger,
            account_id=account_id,
            held_out=held_out,
            drawn_at=moments[trigger.pk, account_id],
        )
        for trigger, account_id, _start, held_out in made
    )
    TriggerFiring.objects.bulk_create(
        TriggerFiring(
            trigger=trigger,
            account_id=account_id,
            fired_at=moments[trigger.pk, account_id],
            execution=run_of.get((f"trigger:{trigger.pk}", account_id, moments[trigger.pk, account_id])),
        )
        for trigger, account_id, _start, _held_out in made
    )


def _trigger_counts_update() -> None:
    """What evaluation would have recorded on each trigger for the firings made here."""
    for trigger in Trigger.objects.annotate(fired=Count("firings"), last=Max("firings__fired_at")).filter(
        fired__gt=0
    ):
        Trigger.objects.filter(pk=trigger.pk).update(
            times_triggered=trigger.fired, last_triggered_at=trigger.last
        )


def _completed_run(playbook, plan, trigger: Trigger, account_id: int, started_at, series: dict) -> Execution:
    month = started_at.date().replace(day=1)
    score, band = series[month]
    return Execution(
        playbook=playbook,
        account_id=account_id,
        status=Execution.Status.COMPLETED,
        plan=plan,
        current_step=len(plan["steps"]),
        owner="demo",
        started_by=f"trigger:{trigger.pk}",
        started_at=started_at,
        completed_at=started_at + dt.timedelta(days=RUN_DAYS),
        completion_reason="all required steps done",
        health_at_start={"score": score, "band": band, "period": month.isoformat()},
    )


def _kpis_boost(boosts: dict[tuple[int, dt.date], float]) -> None:
    """Raise each boosted month's KPI values by the points, one point being a thirtieth of the
    KPI's risk band (critical to healthy scores 40 to 70), within the values it can take."""
    account_ids, months, points = (
        zip(*((a, m, p) for (a, m), p in boosts.items()), strict=True) if boosts else ([], [], [])
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE kpis_kpivalue AS v
            SET value = LEAST(GREATEST(v.value + b.points * (d.healthy - d.critical) / 30.0, d.min_value), d.max_value)
            FROM unnest(%s::bigint[], %s::date[], %s::float8[]) AS b(account_id, period, points), kpis_kpidefinition AS d
            WHERE v.account_id = b.account_id AND v.period = b.period AND v.kpi_id = d.id AND v.is_current
            """,
            [list(account_ids), list(months), list(points)],
        )
