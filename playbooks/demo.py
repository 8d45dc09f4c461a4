"""Playbook runs for the demo tenant: three in progress for TechCorp Solutions and a few
finished ones with reports, started in the past so due dates and effectiveness have data."""

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from kpis.models import Account
from playbooks.models import Execution, Playbook, StepProgress
from playbooks.services import execution_start, step_record

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
    execution = execution_start(playbook=Playbook.objects.get(key=key), account=account, started_by="user:admin",
                                owner="admin")  # fmt: skip
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
