"""The hook through which ingest's problems reach people. Ingest sits below `ops`, so it only
announces: `ops` listens and turns a raise into an incident alerted on Slack and e-mail, and a
clear into its "resolved" message. A listener's failure is logged, never the raiser's problem."""

import logging

from django.dispatch import Signal

logger = logging.getLogger(__name__)

# kwargs: kind ("sync_failed", "sync_empty", "uploads_stalled"), subject (what within this
# tenant, e.g. "source-3"), message. Sent in the schema of the tenant it concerns.
problem_raised = Signal()
# kwargs: kind, subject: the problem is over.
problem_cleared = Signal()


def problem_raise(*, kind: str, subject: str, message: str) -> None:
    _send(problem_raised, kind=kind, subject=subject, message=message)


def problem_clear(*, kind: str, subject: str) -> None:
    _send(problem_cleared, kind=kind, subject=subject)


def _send(signal: Signal, **kwargs) -> None:
    for receiver, outcome in signal.send_robust(sender=None, **kwargs):
        if isinstance(outcome, Exception):
            logger.error("Alert hook %s failed for %s", receiver, kwargs, exc_info=outcome)
