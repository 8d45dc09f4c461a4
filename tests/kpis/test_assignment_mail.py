"""An insight assigned to a teammate e-mails them once, after the commit, from a task: only if
they chose to hear of assignments and have an address, and only a user of the insight's own
workspace."""

from unittest import mock

import pytest
from django_tenants.utils import schema_context

from kpis.models import Insight
from kpis.services import account_upsert, insight_assign
from kpis.tasks import insight_assigned_notify
from tests.conftest import tenant_member
from users.models import User
from users.services import user_notifications_set


@pytest.fixture
def critical(alice):
    with schema_context("alice"):
        account = account_upsert(external_id="A-1", name="Globex")
        return Insight.objects.create(
            account=account,
            rule=Insight.Rule.KPI_CRITICAL,
            period="2026-11-01",
            severity="critical",
            title="NPS critical",
            detail="NPS fell to 12.",
        )


def assign(insight: Insight, username: str, capture) -> list:
    """Assign in alice's schema; the task calls queued on commit, run as the worker would."""
    with schema_context("alice"), mock.patch.object(insight_assigned_notify, "delay") as delay:
        with capture(execute=True):
            insight_assign(insight=insight, assignee=User.objects.get(username=username))
        for call in delay.call_args_list:
            insight_assigned_notify(*call.args)
        return delay.call_args_list


def test_the_assignee_gets_one_mail_and_reassigning_them_sends_no_second(
    critical, mailoutbox, django_capture_on_commit_callbacks
):
    tenant_member("alice", "maya", role="manager")

    assert len(assign(critical, "maya", django_capture_on_commit_callbacks)) == 1
    assert len(assign(critical, "maya", django_capture_on_commit_callbacks)) == 0

    (message,) = mailoutbox
    assert message.to == ["maya@alice.example.com"]
    assert (
        "NPS critical" in message.subject and "Globex" in message.body and "NPS fell to 12." in message.body
    )


def test_no_mail_for_a_user_who_turned_assignment_mail_off_or_has_no_address(
    critical, mailoutbox, django_capture_on_commit_callbacks
):
    maya = tenant_member("alice", "maya", role="manager")
    with schema_context("alice"):
        user_notifications_set(user=maya, choices={"notify_on_assignment": False})
    tenant_member("alice", "noor", role="manager", email="")

    assign(critical, "maya", django_capture_on_commit_callbacks)
    assign(critical, "noor", django_capture_on_commit_callbacks)

    assert mailoutbox == []


def test_a_task_for_an_insight_no_longer_theirs_sends_nothing(critical, mailoutbox):
    tenant_member("alice", "maya", role="manager")
    with schema_context("alice"):
        assert insight_assigned_notify(critical.pk, "maya") is False
    assert mailoutbox == []


def test_a_namesake_in_another_workspace_never_hears_of_it(
    critical, bob, mailoutbox, django_capture_on_commit_callbacks
):
    tenant_member("bob", "maya", role="manager", email="maya@bob.example.com")
    tenant_member("alice", "maya", role="manager", email="")

    assign(critical, "maya", django_capture_on_commit_callbacks)
    with schema_context("bob"):
        assert insight_assigned_notify(critical.pk, "maya") is False

    assert mailoutbox == []
