"""Reads for playbooks: the data facts that criteria and triggers are judged on,
reports and effectiveness."""

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass

from django.db.models import F, Q
from django.utils import timezone

from kpis import catalog as kpi_catalog
from kpis.catalog.sync import fingerprint
from kpis.models import Account, HealthSnapshot, Insight, KpiDefinition, RenewalOutcome
from kpis.selectors import health_model_current
from kpis.timeline import TimelineEvent, portal_path
from playbooks import catalog, effect
from playbooks.criteria import criterion_met
from playbooks.models import Execution, HoldoutDraw, Playbook, StepProgress, Trigger
from playbooks.schemas import SCORE_DROP_MAX_MONTHS
from tenants.selectors import schemas_value

CATALOG_STATE_ROW = 1  # CatalogState holds one row per schema, this one


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
    events = [{"at": execution.started_at, "what": f"Started by {actor_sentence(execution.started_by)}"}]
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


NO_OWNER = "none"  # the owner filter's value for runs nobody owns


def executions_filtered(*, status: str = "", playbook: str = "", owner: str = ""):
    """Runs newest first, narrowed by status, playbook key and owner (NO_OWNER: unowned); a
    value that is not one of the choices (a hand-edited URL) narrows nothing."""
    runs = Execution.objects.select_related("account", "playbook").order_by("-started_at", "pk")
    if status in Execution.Status.values:
        runs = runs.filter(status=status)
    if playbook:
        runs = runs.filter(playbook__key=playbook)
    if owner:
        runs = runs.filter(owner="" if owner == NO_OWNER else owner)
    return runs


def execution_filter_choices() -> dict:
    """The playbooks and owners the executions page offers to filter by (two queries)."""
    owners = Execution.objects.exclude(owner="").order_by("owner").values_list("owner", flat=True).distinct()
    return {
        "statuses": Execution.Status.choices,
        "playbooks": list(Playbook.objects.order_by("name").values_list("key", "name")),
        "owners": list(owners),
    }


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


# --- effectiveness -------------------------------------------------------------------------------

WINDOWS = (30, 60, 90)
HEADLINE_WINDOW = 60
MATCHES_PER_RUN = 3  # same-band accounts compared with each run where nothing is held out
RENEWAL_HORIZON_DAYS = 365  # a renewal counts for a run when it comes within a year of the start


@dataclass(frozen=True)
class Evidence:
    """What every playbook's effect is measured on, loaded once for a page."""

    scores: dict[int, dict[dt.date, tuple[float, str]]]  # account → month → (score, band)
    renewals: dict[int, list[tuple[dt.date, bool]]]  # account → [(renewal date, retained)], oldest first


@dataclass(frozen=True)
class Member:
    """An account in a group from `start`; `horizon` days on it stops counting (a held-out
    account's delayed run starts then), None: it always counts."""

    account_id: int
    start: dt.date
    horizon: int | None = None

    def counts_until(self, days: int) -> bool:
        return self.horizon is None or days <= self.horizon


def effectiveness_evidence() -> Evidence:
    renewals = defaultdict(list)
    rows = RenewalOutcome.objects.order_by("renewal_date").values_list(
        "account_id", "renewal_date", "outcome"
    )
    for account_id, renewal_date, outcome in rows:
        renewals[account_id].append((renewal_date, outcome != RenewalOutcome.Outcome.CHURNED))
    return Evidence(_scores_by_account_period(health_model_current().version), dict(renewals))


def playbooks_effectiveness() -> dict[str, dict]:
    """Every playbook's effectiveness by key, on evidence loaded once."""
    evidence = effectiveness_evidence()
    playbooks = Playbook.objects.prefetch_related("executions")
    return {playbook.key: playbook_effectiveness(playbook, evidence) for playbook in playbooks}


def playbook_effectiveness(playbook: Playbook, evidence: Evidence | None = None) -> dict:
    """Started/completed, median days to complete, share meeting exit criteria, and the effect:
    health change 30/60/90 days after the start and the renewal rate, ran vs held out (or vs
    matched same-band accounts where nothing is held out), each with a 95% interval."""
    executions = list(playbook.executions.all())
    completed = [e for e in executions if e.status == Execution.Status.COMPLETED and e.completed_at]
    met = [e for e in completed if e.completion_reason.startswith("exit criteria met")]
    days = [(e.completed_at - e.started_at).days for e in completed if e.completed_at]
    evidence = evidence or effectiveness_evidence()
    ran, comparison, kind = _groups(playbook, executions, evidence)
    health = {window: _health_estimate(playbook, window, ran, comparison, evidence) for window in WINDOWS}
    renewal = _renewal_estimate(playbook, ran, comparison, evidence)
    headline = health[HEADLINE_WINDOW]
    return {
        "started": len(executions),
        "completed": len(completed),
        "median_days_to_complete": statistics.median(days) if days else None,
        "met_exit_criteria_pct": round(100 * len(met) / len(completed), 1) if completed else None,
        "comparison": kind,
        "comparison_label": COMPARISON_LABELS[kind],
        "health_change": {window: found.as_dict() for window, found in health.items()},
        "renewal_rate": renewal.as_dict(),
        "verdict": headline.verdict,
        "headline_effect": headline.effect,
        "sentence": effect.sentence(playbook.name, headline, window=HEADLINE_WINDOW),
        "renewal_sentence": effect.sentence("Renewal rate", renewal, unit="percentage points"),
        "chart": _chart(health),
    }


COMPARISON_LABELS = {
    "held_out": "held-out accounts",
    "same_band": "matched same-band accounts that did not run it",
}


def _groups(playbook: Playbook, executions: list[Execution], evidence: Evidence):
    """(ran, comparison, kind). With holdouts: the accounts drawn to run against the ones held
    out, each from its draw; accounts kept out of the draw (near renewal) are in neither.
    Without: every run against up to MATCHES_PER_RUN same-band accounts that did not run it."""
    draws = list(HoldoutDraw.objects.filter(trigger__playbook=playbook, kept_because=""))
    if any(draw.held_out for draw in draws):
        ran = [Member(d.account_id, d.drawn_at.date()) for d in draws if not d.held_out]
        held_out = [
            Member(d.account_id, d.drawn_at.date(), d.delay_days or None) for d in draws if d.held_out
        ]
        return ran, held_out, "held_out"
    ran = [Member(e.account_id, e.started_at.date()) for e in executions]
    runners = {member.account_id for member in ran}
    return ran, [m for run in ran for m in _matches(run, runners, evidence)], "same_band"


def _matches(run: Member, runners: set[int], evidence: Evidence) -> list[Member]:
    """The same-band accounts closest in score at the run's start month."""
    month = run.start.replace(day=1)
    score, band = evidence.scores.get(run.account_id, {}).get(month, (None, None))
    if score is None:
        return []
    candidates = [
        (abs(series[month][0] - score), account_id)
        for account_id, series in evidence.scores.items()
        if account_id not in runners and series.get(month, (None, None))[1] == band
    ]
    return [Member(account_id, run.start) for _gap, account_id in sorted(candidates)[:MATCHES_PER_RUN]]


def _health_estimate(playbook, window: int, ran: list[Member], comparison: list[Member], evidence: Evidence):
    def changes(group: list[Member]) -> list[float]:
        found = (
            _change(evidence.scores.get(m.account_id, {}), m.start, window)
            for m in group
            if m.counts_until(window)
        )
        return [change for change in found if change is not None]

    return effect.estimate(changes(ran), changes(comparison), seed=effect.seed_for(playbook.key, window))


def _renewal_estimate(playbook, ran: list[Member], comparison: list[Member], evidence: Evidence):
    """Renewal rate in percent of the accounts that reached a renewal after the start."""

    def rates(group: list[Member]) -> list[float]:
        found = (_retained(evidence.renewals.get(m.account_id, []), m) for m in group)
        return [100.0 * retained for retained in found if retained is not None]

    return effect.estimate(
        rates(ran),
        rates(comparison),
        seed=effect.seed_for(playbook.key, "renewal"),
        negligible=effect.NEGLIGIBLE_RENEWAL_POINTS,
    )


def _retained(renewals: list[tuple[dt.date, bool]], member: Member) -> bool | None:
    for renewal_date, retained in renewals:
        days = (renewal_date - member.start).days
        if 0 < days <= RENEWAL_HORIZON_DAYS:
            return retained if member.counts_until(days) else None
    return None


def _chart(health: dict) -> dict:
    """Mean health change of both groups after 0/30/60/90 days, and the interval of the ran
    group's mean implied by the effect's interval (comparison mean + low … high)."""
    rows = [(window, health[window]) for window in WINDOWS]
    shifted = [(found.comparison_mean, found.low, found.high) for _w, found in rows]
    return {
        "labels": [0, *WINDOWS],
        "ran": [0, *(found.ran_mean for _w, found in rows)],
        "comparison": [0, *(found.comparison_mean for _w, found in rows)],
        "low": [0, *(None if low is None else round(base + low, 1) for base, low, _h in shifted)],
        "high": [0, *(None if high is None else round(base + high, 1) for base, _l, high in shifted)],
    }


def execution_comparison(execution: Execution) -> list[dict]:
    """How the execution's account moved 30/60/90 days after its start against the playbook's
    comparison group (its mean change and size) and the accounts that ran it."""
    evidence = effectiveness_evidence()
    found = playbook_effectiveness(execution.playbook, evidence)
    series = evidence.scores.get(execution.account_id, {})
    return [
        {
            "window": window,
            "account": _change(series, execution.started_at.date(), window),
            "ran": found["health_change"][window]["ran_mean"],
            "comparison": found["health_change"][window]["comparison_mean"],
            "comparison_accounts": found["health_change"][window]["comparison"],
        }
        for window in WINDOWS
    ]


def _scores_by_account_period(version: int) -> dict[int, dict]:
    scores: defaultdict[int, dict[dt.date, tuple[float, str]]] = defaultdict(dict)
    for account_id, period, score, band in HealthSnapshot.objects.filter(model_version=version).values_list(
        "account_id", "period", "score", "band"
    ):
        scores[account_id][period] = (score, band)
    return scores


def _change(series: dict, start: dt.date, window: int) -> float | None:
    """Score change from the start's month to the month `window` days later."""
    first, last = start.replace(day=1), (start + dt.timedelta(days=window)).replace(day=1)
    if first not in series or last not in series or first == last:
        return None
    return series[last][0] - series[first][0]


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
    triggers = triggers_by_pk()
    events = [_started_event(execution, triggers) for execution in executions]
    events += [_ended_event(execution) for execution in ended]
    events += [_step_event(step) for step in steps]
    return sorted(events, key=lambda event: event.at, reverse=True)[:limit]


def _run_name(execution: Execution) -> str:
    return execution.plan.get("name", execution.playbook_id)


def _started_event(execution: Execution, triggers: dict[int, Trigger]) -> TimelineEvent:
    owner = f"owner {execution.owner}" if execution.owner else "no owner yet"
    return TimelineEvent(
        execution.started_at,
        "playbook_started",
        f"Playbook started: {_run_name(execution)}",
        owner,
        actor_sentence(execution.started_by, triggers),
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


def triggers_by_pk() -> dict[int, Trigger]:
    """Every trigger with its playbook, in one query: what `actor_sentence` names runs by."""
    return Trigger.objects.select_related("playbook").in_bulk()


def actor_sentence(started_by: str, triggers: dict[int, Trigger] | None = None) -> str:
    """Who started a run as a person reads it, to follow "started by": `user:ann` → ann,
    `trigger:4` → trigger “health band is critical → Renewal Safeguard”, `api:pk_ab12` → API
    key pk_ab12…. Pass `triggers_by_pk()` when naming many runs (one query, not one each)."""
    kind, _, who = started_by.partition(":")
    if not who:
        return started_by
    if kind == "trigger":
        found = (
            (triggers if triggers is not None else triggers_by_pk()).get(int(who)) if who.isdigit() else None
        )
        return f"trigger “{found.sentence}”" if found else "a trigger since deleted"
    return {"user": who, "api": f"API key {who}…"}.get(kind, started_by)


def with_actor_text(executions: list[Execution]) -> list[Execution]:
    """Sets `started_by_text` on each run for the pages, with one query for all."""
    triggers = triggers_by_pk()
    for execution in executions:
        execution.started_by_text = actor_sentence(execution.started_by, triggers)
    return executions


def catalogs_fingerprint() -> str:
    """The shipped KPI and playbook catalogs, as one hash: what a synced schema records."""
    return fingerprint({"kpis": asdict(kpi_catalog.SHIPPED), "playbooks": asdict(catalog.SHIPPED)})


def schemas_catalogs_outdated(schemas: list[str]) -> list[str]:
    """The schemas not last synced with the shipped catalogs (or never), in one query."""
    synced = schemas_value(
        schemas,
        table="playbooks_catalogstate",
        select=f"SELECT fingerprint FROM {{schema}}.playbooks_catalogstate WHERE id = {CATALOG_STATE_ROW}",
    )
    shipped = catalogs_fingerprint()
    return [schema for schema in schemas if synced[schema] != shipped]
