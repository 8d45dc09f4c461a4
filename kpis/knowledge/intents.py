"""Recognising questions about the tenant's own data, without Django. What is recognised is
answered from the selectors the portal uses (kpis/knowledge/selectors.py), not from documents."""

import re
from dataclasses import dataclass

DEFAULT_RENEWAL_DAYS = 90
MAX_RENEWAL_DAYS = 3650  # the accounts API's own limit on a renewal window

_RENEWAL = re.compile(r"\brenew(s|al|als|ing)?\b|\bup for renewal\b", re.IGNORECASE)
_WINDOW = re.compile(r"\b(?:next|within|coming|in)\s+(\d{1,4})\s*(day|week|month)s?\b", re.IGNORECASE)
_RISKY = re.compile(r"\bat[- ]risk\b|\brisky\b|\bunhealthy\b|\bin danger\b|\bcritical\b", re.IGNORECASE)
_CRITICAL = re.compile(r"\bcritical\b", re.IGNORECASE)
_AT_RISK = re.compile(r"\bat[- ]risk\b", re.IGNORECASE)
_HEALTH = re.compile(r"\bhealth(y)?\b|\bhealth score\b|\bscore\b|\bdoing\b", re.IGNORECASE)
# "which accounts…", "list the customers…", "who renews…": a question asking for accounts, unlike
# "how long before renewal must a customer…", which the documents answer.
_ASKS_FOR_ACCOUNTS = re.compile(
    r"\b(?:which|what|list|show(?: me)?|how many|name)\s+(?:\w+\s+){0,2}?(?:accounts?|customers?|clients?)\b"
    r"|\bwho(?:'s| is| are| will)?\s+(?:renew|renews|renewing|up for renewal|at[- ]risk|critical)\b",
    re.IGNORECASE,
)
_DAYS_PER = {"day": 1, "week": 7, "month": 30}


@dataclass(frozen=True)
class DataQuestion:
    kind: str  # "renewals" | "band" | "account_health"
    days: int = DEFAULT_RENEWAL_DAYS
    bands: tuple[str, ...] = ()


def data_question(question: str) -> DataQuestion | None:
    """The kind of data question this is, or None for a question for the documents."""
    asks_for_accounts = bool(_ASKS_FOR_ACCOUNTS.search(question))
    if asks_for_accounts and _RENEWAL.search(question):
        return DataQuestion("renewals", days=_window_days(question), bands=_renewal_bands(question))
    if asks_for_accounts:
        if _CRITICAL.search(question):
            return DataQuestion("band", bands=("critical",))
        if _AT_RISK.search(question):
            return DataQuestion("band", bands=("risk",))
    if _HEALTH.search(question):
        return DataQuestion("account_health")  # answered only if the question names an account
    return None


def _window_days(question: str) -> int:
    match = _WINDOW.search(question)
    if not match:
        return DEFAULT_RENEWAL_DAYS
    return min(int(match.group(1)) * _DAYS_PER[match.group(2).lower()], MAX_RENEWAL_DAYS)


def _renewal_bands(question: str) -> tuple[str, ...]:
    if _CRITICAL.search(question) and not _AT_RISK.search(question):
        return ("critical",)
    return ("risk", "critical") if _RISKY.search(question) else ()
