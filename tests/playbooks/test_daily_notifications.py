"""A playbook run's owner hears it is theirs; the morning e-mails: a digest of what is each user's (open insights assigned to them, their
steps overdue or due within a week) for those who chose it, and a reminder of steps due today;
none about another workspace."""

import datetime as dt
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from kpis.models import Insight
from kpis.services import account_upsert, insight_assign
from playbooks.models import StepProgress
from playbooks.notifications import notifications_daily_send
from playbooks.services import execution_update
from playbooks.tasks import dispatch_notifications_daily, execution_assigned_notify, notifications_daily
from tests.conftest import tenant_member
from tests.playbooks.factories import ExecutionFactory
from users.models import User
from users.services import user_notifications_set

TODAY = timezone.localdate()


def run_owned_by(username: str, account_name: str, due: dt.date):
    """A run of renewal_safeguard owned by `username`, its current step due on `due`."""
    execution = ExecutionFactory(
        owner=username, account=account_upsert(external_id=account_name, name=account_name)
    )
    StepProgress.objects.filter(execution=execution, index=0).update(due_date=due)
    return execution


@pytest.fixture
def mayas_work(alice):
    """In alice: maya (digest on) owns an insight, a step due today, one overdue, one next month."""
    with schema_context("alice"):
        maya = tenant_member("alice", "maya", role="manager")
        user_notifications_set(user=maya, choices={"notify_daily_digest": True})
        account = account_upsert(external_id="G-1", name="Globex")
        insight = Insight.objects.create(
            account=account,
            rule=Insight.Rule.KPI_CRITICAL,
            period=TODAY.replace(day=1),
            severity="critical",
            title="NPS critical",
            detail="NPS fell.",
        )
        insight_assign(insight=insight, assignee=maya)
        run_owned_by("maya", "Initech", TODAY)
        run_owned_by("maya", "Umbrella", TODAY - dt.timedelta(days=3))
        run_owned_by("maya", "Hooli", TODAY + dt.timedelta(days=30))


def mails_to(mailoutbox, address: str) -> dict[str, str]:
    return {m.subject: m.body for m in mailoutbox if m.to == [address]}


def test_the_digest_lists_open_insights_and_near_steps_and_the_reminder_todays(mayas_work, mailoutbox):
    with schema_context("alice"):
        assert notifications_daily_send(today=TODAY) == 2

    mails = mails_to(mailoutbox, "maya@alice.example.com")
    digest = mails["Pulse: your daily digest"]
    assert "[Critical] NPS critical (Globex)" in digest
    assert "(Initech), due" in digest and "(Umbrella), OVERDUE since" in digest and "Hooli" not in digest
    reminder = mails["Pulse: 1 playbook step(s) due today"]
    assert "Initech" in reminder and "Umbrella" not in reminder


def test_each_user_gets_only_what_they_chose(mayas_work, mailoutbox):
    with schema_context("alice"):
        maya = User.objects.get(username="maya")
        user_notifications_set(user=maya, choices={"notify_daily_digest": False})
        notifications_daily_send(today=TODAY)
        user_notifications_set(user=maya, choices={"notify_when_due": False, "notify_daily_digest": True})
        notifications_daily_send(today=TODAY)

    assert [m.subject for m in mailoutbox] == [
        "Pulse: 1 playbook step(s) due today",
        "Pulse: your daily digest",
    ]


def test_nothing_theirs_means_no_mail(alice, mailoutbox):
    with schema_context("alice"):
        user_notifications_set(user=User.objects.get(username="admin"), choices={"notify_daily_digest": True})
        assert notifications_daily_send(today=TODAY) == 0
    assert mailoutbox == []


def test_another_workspaces_namesake_hears_nothing_of_it(mayas_work, bob, mailoutbox):
    with schema_context("bob"):
        twin = tenant_member("bob", "maya", role="manager")
        user_notifications_set(user=twin, choices={"notify_daily_digest": True})
        assert notifications_daily() == 0
    with schema_context("alice"):
        notifications_daily_send(today=TODAY)
    assert mails_to(mailoutbox, "maya@bob.example.com") == {}


def test_the_dispatcher_queues_one_run_per_tenant(alice, bob, monkeypatch):
    queued = []
    monkeypatch.setattr(notifications_daily, "delay", lambda: queued.append(connection.schema_name))
    assert dispatch_notifications_daily() == 2
    assert sorted(queued) == ["alice", "bob"]


def start_and_reassign(capture, first_owner: str, then: str) -> list:
    """Start a run for `first_owner`, hand it to `then`; run every queued owner mail as the worker would."""
    with schema_context("alice"), mock.patch.object(execution_assigned_notify, "delay") as delay:
        with capture(execute=True):
            execution = run_owned_by(first_owner, "Initech", TODAY)
        with capture(execute=True):
            execution_update(execution=execution, by="user:admin", owner=then)
        for call in delay.call_args_list:
            execution_assigned_notify(*call.args)
    return delay.call_args_list


def test_a_runs_owner_hears_it_is_theirs_once_per_hand_over(
    alice, mailoutbox, django_capture_on_commit_callbacks
):
    tenant_member("alice", "maya", role="manager")
    tenant_member("alice", "noor", role="manager")

    assert len(start_and_reassign(django_capture_on_commit_callbacks, "maya", "noor")) == 2

    # Both tasks ran after the hand-over, as a busy worker would: the run is no longer maya's.
    (message,) = mailoutbox
    assert message.to == ["noor@alice.example.com"]
    assert "Initech" in message.subject and ", due " in message.body


def test_an_owner_who_turned_assignment_mail_off_hears_nothing(
    alice, mailoutbox, django_capture_on_commit_callbacks
):
    maya = tenant_member("alice", "maya", role="manager")
    with schema_context("alice"):
        user_notifications_set(user=maya, choices={"notify_on_assignment": False})
    start_and_reassign(django_capture_on_commit_callbacks, "noor", "maya")
    assert mailoutbox == []


def test_keeping_the_same_owner_sends_nothing(alice, mailoutbox, django_capture_on_commit_callbacks):
    tenant_member("alice", "maya", role="manager")
    assert len(start_and_reassign(django_capture_on_commit_callbacks, "maya", "maya")) == 1
