"""The morning e-mails of one workspace: each user's digest of what is theirs (open insights
assigned to them, the steps of their playbook runs overdue or due within a week) and a reminder of
their steps that fall due today. Each goes only to users who chose it (users.notifications)."""

import datetime as dt

from django.db.models import F, Q
from django.utils import timezone

from kpis.models import Insight
from kpis.selectors import insights_open, insights_triaged
from playbooks.models import Execution, StepProgress
from users.models import User
from users.notifications import user_mail_if_wanted

DIGEST_HORIZON_DAYS = 7


def steps_owned(*, username: str, until: dt.date) -> list[StepProgress]:
    """The current pending step of each open run `username` owns, due on or before `until`."""
    steps = list(
        StepProgress.objects.filter(
            execution__owner=username,
            execution__status=Execution.Status.IN_PROGRESS,
            status=StepProgress.Status.PENDING,
            index=F("execution__current_step"),
            due_date__lte=until,
        )
        .select_related("execution__account")
        .order_by("due_date", "index")
    )
    for step in steps:
        step.title = step.execution.plan["steps"][step.index]["title"]
    return steps


def _step_line(step: StepProgress, today: dt.date) -> str:
    when = "OVERDUE since" if step.due_date < today else "due"
    return f"- {step.title} ({step.execution.account}), {when} {step.due_date.isoformat()}"


def digest_text(*, username: str, today: dt.date) -> str:
    """What the digest says; empty when nothing is theirs (no mail is sent then)."""
    insights = insights_open(insights_triaged(Insight.objects.filter(assigned_to=username)), today)
    steps = steps_owned(username=username, until=today + dt.timedelta(days=DIGEST_HORIZON_DAYS))
    parts = []
    if insights:
        lines = [f"- [{i.get_severity_display()}] {i.title} ({i.account})" for i in insights]
        parts.append("Open insights assigned to you:\n" + "\n".join(lines))
    if steps:
        lines = [_step_line(step, today) for step in steps]
        parts.append(
            f"Your playbook steps overdue or due within {DIGEST_HORIZON_DAYS} days:\n" + "\n".join(lines)
        )
    return "\n\n".join(parts)


def notifications_daily_send(*, today: dt.date | None = None) -> int:
    """Digests and due-today reminders for this workspace's users; returns the mails sent."""
    today = today or timezone.localdate()
    sent = 0
    wanting = User.objects.filter(is_active=True).exclude(email="")
    for user in wanting.filter(Q(notify_daily_digest=True) | Q(notify_when_due=True)):
        digest = digest_text(username=user.username, today=today)
        if digest:
            sent += user_mail_if_wanted(
                username=user.username,
                choice="notify_daily_digest",
                subject="Pulse: your daily digest",
                body=digest,
            )
        due = [step for step in steps_owned(username=user.username, until=today) if step.due_date == today]
        if due:
            sent += user_mail_if_wanted(
                username=user.username,
                choice="notify_when_due",
                subject=f"Pulse: {len(due)} playbook step(s) due today",
                body="Due today:\n" + "\n".join(_step_line(step, today) for step in due),
            )
    return sent


def execution_assigned_mail(*, execution_id: str, username: str) -> bool:
    execution = (
        Execution.objects.select_related("account")
        .filter(pk=execution_id, owner=username, status=Execution.Status.IN_PROGRESS)
        .first()
    )
    if execution is None:
        return False
    steps = StepProgress.objects.filter(execution=execution, status=StepProgress.Status.PENDING).order_by(
        "index"
    )
    lines = [
        f"- {execution.plan['steps'][step.index]['title']}, due {step.due_date.isoformat()}" for step in steps
    ]
    return user_mail_if_wanted(
        username=username,
        choice="notify_on_assignment",
        subject=f"Pulse: {execution.plan['name']} for {execution.account} is yours",
        body="You own this playbook run; its open steps:\n" + "\n".join(lines),
    )
