"""A workspace's admin sets a Slack incoming webhook; each health refresh that makes new critical
insights posts one message (count and top titles) there from a retried task. Only Slack's https
host is accepted unless the deployment allows private addresses; no other workspace hears of it."""

import threading
from unittest import mock

import pytest
from django_tenants.utils import schema_context

from kpis.models import Insight
from kpis.services import health_refresh
from kpis.slack import SlackRefused
from kpis.tasks import critical_insights_slack
from tenants.models import Tenant
from tests.conftest import signed_in_client, tenant_member
from tests.ops.test_alerts import SlackReceiver


@pytest.fixture
def slack():
    receiver = SlackReceiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def webhook_of(slug: str) -> str:
    return Tenant.objects.get(schema_name=slug).slack_webhook_url


def refresh(capture) -> list:
    """A health refresh in alice; returns the Slack task calls it queued on commit."""
    with schema_context("alice"), mock.patch.object(critical_insights_slack, "delay") as delay:
        Insight.objects.all().delete()  # the portfolio's own refresh made them: make them anew
        with capture(execute=True):
            health_refresh()
    return delay.call_args_list


def test_an_admin_sets_the_webhook_and_a_viewer_cannot(portfolio, bob, slack):
    admin = signed_in_client("alice")
    assert 'href="/settings/slack/"' in admin.get("/").content.decode()

    assert admin.post("/settings/slack/", {"slack_webhook_url": slack.url}).status_code == 302

    assert webhook_of("alice") == slack.url and webhook_of("bob") == ""
    tenant_member("alice", "mia", role="viewer")
    viewer = signed_in_client("alice", username="mia")
    assert viewer.post("/settings/slack/", {"slack_webhook_url": ""}).status_code == 403
    assert webhook_of("alice") == slack.url


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.slack.com/services/T/B/X",
        "https://example.com/services/T/B/X",
        "https://10.0.0.8/hook",
        "nonsense",
    ],
)
def test_only_slacks_https_host_is_accepted_where_private_addresses_are_not_allowed(alice, settings, url):
    settings.SYNC_ALLOW_PRIVATE_ADDRESSES = False
    page = signed_in_client("alice").post("/settings/slack/", {"slack_webhook_url": url})

    assert page.status_code == 200 and "https://hooks.slack.com/services/" in page.content.decode()
    assert webhook_of("alice") == ""


def test_a_refresh_with_new_critical_insights_posts_one_message(
    portfolio, slack, django_capture_on_commit_callbacks
):
    Tenant.objects.filter(schema_name="alice").update(slack_webhook_url=slack.url)

    (call,) = refresh(django_capture_on_commit_callbacks)
    with schema_context("alice"):
        critical = list(Insight.objects.filter(severity="critical").values_list("title", flat=True))
        assert critical and sorted(call.args[0]) == sorted(
            Insight.objects.filter(severity="critical").values_list("pk", flat=True)
        )
        assert critical_insights_slack(*call.args) is True

    (text,) = slack.texts
    assert f"*{len(critical)} new critical insight(s)*" in text and critical[0] in text


def test_slack_failing_raises_for_a_retry_and_a_later_try_delivers(
    portfolio, slack, django_capture_on_commit_callbacks
):
    Tenant.objects.filter(schema_name="alice").update(slack_webhook_url=slack.url)
    (call,) = refresh(django_capture_on_commit_callbacks)
    slack.failures = 1
    with schema_context("alice"):
        with pytest.raises(SlackRefused, match="500"):
            critical_insights_slack(*call.args)
        critical_insights_slack(*call.args)
    assert len(slack.texts) == 1


def test_no_webhook_here_means_nothing_queued_even_when_another_workspace_has_one(
    portfolio, bob, slack, django_capture_on_commit_callbacks
):
    Tenant.objects.filter(schema_name="bob").update(slack_webhook_url=slack.url)
    assert refresh(django_capture_on_commit_callbacks) == []
    with schema_context("alice"):
        assert critical_insights_slack([1]) is False
    assert slack.texts == []
