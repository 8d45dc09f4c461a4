"""New critical insights to the workspace's Slack incoming webhook: one message per evaluation
(the count and the top titles), so a refresh of many accounts never floods the channel."""

import json
import urllib.error
import urllib.request

from kpis.models import Insight
from tenants.validators import slack_webhook_refusal

TOP_TITLES = 5
TIMEOUT_SECONDS = 10


class SlackRefused(Exception):
    """Slack answered with an error or could not be reached; the task retries."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could lead the post to an address the webhook rule would refuse."""

    def redirect_request(self, *args, **kwargs):
        return None


def critical_insights_text(insight_ids: list[int]) -> str:
    insights = list(Insight.objects.filter(pk__in=insight_ids).select_related("account").order_by("-pk"))
    lines = [f"• {insight.title} ({insight.account})" for insight in insights[:TOP_TITLES]]
    more = len(insights) - TOP_TITLES
    if more > 0:
        lines.append(f"…and {more} more under Insights in Pulse.")
    return f"*{len(insights)} new critical insight(s)*\n" + "\n".join(lines)


def critical_insights_post(*, insight_ids: list[int], webhook_url: str) -> None:
    """Post once; raises SlackRefused when Slack did not take it. The URL is checked again here
    because the rule may have tightened since it was saved."""
    if slack_webhook_refusal(webhook_url):
        raise ValueError("The Slack webhook URL is not one Pulse posts to; an admin should set it again.")
    request = urllib.request.Request(
        webhook_url,
        data=json.dumps({"text": critical_insights_text(insight_ids)}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.build_opener(_NoRedirects).open(request, timeout=TIMEOUT_SECONDS) as response:
            response.read()
    except urllib.error.HTTPError as error:
        raise SlackRefused(f"Slack answered {error.code} {error.reason}.") from error
    except (urllib.error.URLError, OSError) as error:
        raise SlackRefused(f"Slack could not be reached: {error}.") from error
