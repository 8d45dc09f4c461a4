"""Where alerts go: a Slack incoming webhook (SLACK_WEBHOOK) and e-mail (ALERT_EMAIL via EMAIL_URL).
Each sender raises ChannelError with a sentence when the message did not get through."""

import json
import urllib.error
import urllib.request

from django.conf import settings
from django.core.mail import send_mail

SLACK_TIMEOUT_SECONDS = 10


class ChannelError(Exception):
    pass


def channels_configured() -> list[str]:
    """The channels alerts go to, by the names Delivery.Channel uses."""
    return [name for name, on in (("slack", settings.SLACK_WEBHOOK), ("email", settings.ALERT_EMAIL)) if on]


def channel_send(*, channel: str, subject: str, body: str) -> None:
    if channel == "slack":
        _slack_post(text=f"*{subject}*\n{body}")
    elif channel == "email":
        _email_send(subject=subject, body=body)
    else:
        raise ChannelError(f"Unknown alert channel {channel!r}.")


def _slack_post(*, text: str) -> None:
    request = urllib.request.Request(
        settings.SLACK_WEBHOOK,
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=SLACK_TIMEOUT_SECONDS) as response:
            response.read()
    except urllib.error.HTTPError as error:
        raise ChannelError(f"Slack answered {error.code} {error.reason}; check SLACK_WEBHOOK.") from error
    except (urllib.error.URLError, OSError) as error:
        raise ChannelError(f"Slack could not be reached: {error}.") from error


def _email_send(*, subject: str, body: str) -> None:
    try:
        send_mail(f"[Pulse] {subject}", body, None, settings.ALERT_EMAIL, fail_silently=False)
    except OSError as error:  # smtplib's errors are OSErrors too
        raise ChannelError(
            f"E-mail to {', '.join(settings.ALERT_EMAIL)} failed: {error}; check EMAIL_URL."
        ) from error
