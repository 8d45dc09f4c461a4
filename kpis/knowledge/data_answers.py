"""Answers to questions about the tenant's own data, from the selectors the portal's pages use,
each account cited with its page's URL."""

from django.db.models import Value
from django.db.models.functions import Length, Lower, StrIndex
from django.urls import reverse

from kpis.knowledge.intents import DataQuestion, data_question
from kpis.models import Account, Band, KpiDefinition
from kpis.selectors import AccountFilters, accounts_filtered, accounts_with_health, health_model_current

LISTED = 10  # accounts named in an answer; the rest are counted
MIN_NAME_CHARS = 3  # a shorter account name ("AB") would be found inside any question's words
BAND_LABELS = dict(Band.choices)


def data_answer(question: str) -> dict | None:
    """The answer from the tenant's data, or None when the question is not about it."""
    asked = data_question(question)
    if asked is None:
        return None
    version = health_model_current().version
    if asked.kind == "renewals":
        return _renewals(asked, version)
    if asked.kind == "band":
        return _in_bands(asked, version)
    return _account_health(question, version)


def _renewals(asked: DataQuestion, version: int) -> dict:
    accounts = accounts_filtered(version, AccountFilters(renewal_within_days=asked.days, sort="renewal"))
    if asked.bands:
        accounts = accounts.filter(band__in=asked.bands)
    which = f" with health {' or '.join(BAND_LABELS[b].lower() for b in asked.bands)}" if asked.bands else ""
    found = list(accounts)
    lead = f"{_count(len(found))} renew{'s' if len(found) == 1 else ''} in the next {asked.days} days{which}"
    return _listing(lead, found, detail=lambda a: f"renews {a.renewal_date:%Y-%m-%d}")


def _in_bands(asked: DataQuestion, version: int) -> dict:
    found = list(accounts_with_health(version).filter(band__in=asked.bands).order_by("score", "pk"))
    label = " or ".join(BAND_LABELS[band].lower() for band in asked.bands)
    verb = "is" if len(found) == 1 else "are"
    return _listing(f"{_count(len(found))} {verb} {label} now", found, detail=lambda a: "")


def _listing(lead: str, accounts: list[Account], detail) -> dict:
    sources = [_source(ref, account, detail(account)) for ref, account in enumerate(accounts[:LISTED], 1)]
    named = "; ".join(f"{s['title']} ({s['passage']}) [{s['ref']}]" for s in sources)
    more = f"; and {len(accounts) - LISTED} more" if len(accounts) > LISTED else ""
    answer = f"{lead}: {named}{more}." if accounts else f"{lead}."
    return {"answered": True, "answer": answer, "sources": sources}


def _source(ref: int, account: Account, detail: str) -> dict:
    health = (
        f"health {account.score:.0f}/100, {BAND_LABELS[account.band].lower()}"
        if account.score is not None
        else "no health score yet"
    )
    return {
        "ref": ref,
        "kind": "account",
        "doc_id": None,
        "account_id": account.pk,
        "title": account.name,
        "passage": ", ".join(part for part in (detail, health) if part),
        "score": account.score,
        "url": reverse("account_detail", args=[account.pk]),
    }


def _count(number: int) -> str:
    return "No account" if number == 0 else f"{number} account{'s' if number != 1 else ''}"


def _account_health(question: str, version: int) -> dict | None:
    """The account the question names (the longest name it contains), its health and why."""
    named = (
        Account.objects.annotate(at=StrIndex(Value(question.lower()), Lower("name")), length=Length("name"))
        .filter(at__gt=0, length__gte=MIN_NAME_CHARS)
        .order_by(-Length("name"), "pk")
        .first()
    )
    if named is None:
        return None
    account = accounts_with_health(version).get(pk=named.pk)
    if account.score is None:
        summary = f"{account.name} has no health score yet: no KPI values have been loaded for it."
    else:
        summary = _health_sentence(account, version)
    source = _source(1, account, summary)
    source["passage"] = summary
    return {"answered": True, "answer": f"{summary} [1]", "sources": [source]}


def _health_sentence(account: Account, version: int) -> str:
    snapshot = account.snapshots.filter(model_version=version).order_by("-period").first()
    change = "" if account.change is None else f", {account.change:+.1f} points on the month before"
    weakest = sorted(snapshot.explanation.get("kpis", []), key=lambda kpi: kpi["score"])[:3]
    names = dict(KpiDefinition.objects.filter(key__in=[k["kpi"] for k in weakest]).values_list("key", "name"))
    why = ", ".join(
        f"{names.get(k['kpi'], k['kpi'])} {k['score']:.0f}/100 ({BAND_LABELS[k['band']].lower()})"
        for k in weakest
    )
    period = f"{snapshot.period:%B %Y}"
    return (
        f"{account.name} is {BAND_LABELS[account.band].lower()}: health {account.score:.0f}/100 in {period}"
        f"{change}. Weakest KPIs: {why or 'none recorded'}."
    )
