"""An account's timeline: what happened to it, newest first, from every app that knows.

kpis knows notes, health band changes and insights. Playbook runs and uploads live in apps above
kpis, which may not be imported from here (layers: playbooks → ingest → kpis), so those apps
register their own event sources at start-up (`timeline_source_register` in their AppConfig.ready)
and this module merges whatever is registered.

A source is a function `(account, limit) -> list[TimelineEvent]` that returns at most `limit`
events, newest first; a page of the timeline asks each source for enough events to fill every
page up to it and merges them, so each source stays one bounded query.
"""

import datetime as dt
import heapq
from collections.abc import Callable
from typing import NamedTuple

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from kpis.models import Account, AccountNote, Band, HealthSnapshot
from kpis.selectors import health_model_current

MAX_PAGE_SIZE = 100


class TimelineEvent(NamedTuple):
    at: dt.datetime
    kind: str  # note, health, insight, playbook_started, playbook_step, playbook_ended, upload
    title: str
    detail: str = ""
    actor: str = ""
    url: str = ""  # a portal page about the event, if there is one


class TimelinePage(NamedTuple):
    events: list[TimelineEvent]
    page: int
    page_size: int
    has_next: bool


TimelineSource = Callable[[Account, int], list[TimelineEvent]]
_sources: list[TimelineSource] = []


def portal_path(name: str, *args) -> str:
    """A portal page's path on the tenant's host, also while the API answers on the base host
    (whose URL conf has no portal pages)."""
    return reverse(name, args=args, urlconf=settings.ROOT_URLCONF)


def timeline_source_register(source: TimelineSource) -> None:
    """Add an event source (idempotent: apps may be readied more than once in tests)."""
    if source not in _sources:
        _sources.append(source)


def account_timeline(account: Account, *, page: int = 1, page_size: int = 25) -> TimelinePage:
    """One page of the account's events from every source, newest first."""
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page must be 1 or more and page_size between 1 and {MAX_PAGE_SIZE}")
    skip = (page - 1) * page_size
    wanted = skip + page_size + 1  # one more than the page, to know whether another follows
    streams = [source(account, wanted) for source in _sources]
    merged = list(heapq.merge(*streams, key=lambda event: event.at, reverse=True))[skip:wanted]
    return TimelinePage(merged[:page_size], page, page_size, has_next=len(merged) > page_size)


def _notes(account: Account, limit: int) -> list[TimelineEvent]:
    notes = AccountNote.objects.filter(account=account).order_by("-created_at", "-pk")[:limit]
    return [note_event(note) for note in notes]


def note_event(note: AccountNote) -> TimelineEvent:
    return TimelineEvent(note.created_at, "note", "Note", note.body, note.author)


def _band_changes(account: Account, limit: int) -> list[TimelineEvent]:
    """Months whose band differs from the month before, under the live health model; the first
    scored month counts as a change from nothing. Dated at the start of the month they describe."""
    snapshots = HealthSnapshot.objects.filter(account=account, model_version=health_model_current().version)
    events, previous = [], None
    for period, band, score in snapshots.order_by("period").values_list("period", "band", "score"):
        if band != previous:
            events.append(_band_event(period, band, previous, score))
        previous = band
    return events[::-1][:limit]


def _band_event(period: dt.date, band: str, previous: str | None, score: float) -> TimelineEvent:
    at = timezone.make_aware(dt.datetime.combine(period, dt.time.min))  # in the zone pages show
    title = f"Health became {_band_label(band)}" if previous else f"First health score: {_band_label(band)}"
    detail = f"{period:%B %Y}: score {score:.0f}" + (f", was {_band_label(previous)}" if previous else "")
    return TimelineEvent(at, "health", title, detail)


def _band_label(band: str) -> str:
    return str(dict(Band.choices).get(band, band)).lower()


def _insights(account: Account, limit: int) -> list[TimelineEvent]:
    insights = account.insights.order_by("-created_at", "-pk")[:limit]
    url = f"{portal_path('insights')}?account={account.pk}&status=all"
    return [
        TimelineEvent(
            insight.created_at,
            "insight",
            f"{insight.get_severity_display()} insight: {insight.title}",
            insight.detail,
            url=url,
        )
        for insight in insights
    ]


for _source in (_notes, _band_changes, _insights):
    timeline_source_register(_source)
