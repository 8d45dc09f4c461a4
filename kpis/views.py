"""Portal pages: dashboard, accounts, account detail, health settings."""

import csv
import datetime as dt
from dataclasses import replace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from common.exports import csv_safe
from kpis.forms import AccountNoteForm, HealthModelForm, KpiRangeForm
from kpis.models import Account, Band, Insight, KpiDefinition
from kpis.selectors import (
    account_benchmarks,
    account_filters,
    account_health_history,
    account_kpi_series,
    account_peer_benchmarks,
    accounts_filtered,
    band_change_preview,
    best_practices_for,
    dashboard_peer_medians,
    filter_choices,
    health_model_current,
    health_model_newest,
    insight_counts,
    insight_filters,
    insights_filtered,
    learned_model_latest,
    model_rules,
    portfolio,
    report_cards,
)
from kpis.services import (
    ActivationRefused,
    account_note_add,
    health_model_update,
    health_rules_restore,
    insight_triage_apply,
    kpi_definition_update,
    learned_model_activate,
    learned_model_request,
    report_card_refresh_later,
)
from kpis.timeline import account_timeline
from peers.publication import MIN_ACCOUNTS
from users.audit import user_actor
from users.decorators import admin_required, editor_required
from users.models import User

# The accounts page's "Mine" owner filter: the signed-in teammate's accounts (kpis.selectors.owned_by).
MINE = "me"
EXPORT_COLUMNS = [
    "external_id",
    "name",
    "revenue",
    "industry",
    "region",
    "status",
    "renewal_date",
    "owner",
    "score",
    "band",
    "change",
]


@login_required
def home(request):
    """The dashboard. Until data arrives it tells a new tenant what to do first."""
    if not Account.objects.exists():
        return render(request, "kpis/home_empty.html")
    data = portfolio(health_model_current().version)
    context = {"data": data, "chart": _dashboard_chart(data), "peers": dashboard_peer_medians(request.tenant)}
    return render(request, "kpis/home.html", context)


def _dashboard_chart(data: dict) -> dict:
    return {
        "distribution": [data["distribution"][band] for band in Band.values],
        "bands": [label for _value, label in Band.choices],
        "trend_labels": [f"{p['period']:%b %Y}" for p in data["trend"]["points"]],
        "trend_scores": [p["score"] for p in data["trend"]["points"]],
        "forecast_labels": [f"{p['month']:%b %Y}" for p in data["money"]["forecast"]],
        "forecast": [float(p["expected_arr"]) for p in data["money"]["forecast"]],
    }


@login_required
def accounts(request):
    try:
        filters = account_filters(request.GET)
    except ValidationError:  # a hand-edited URL: show everything rather than an error page
        filters = account_filters({})
    if filters.owner == MINE:
        filters = replace(filters, owner=request.user.username)
    rows = accounts_filtered(health_model_current().version, filters)
    if request.GET.get("format") == "csv":
        return _accounts_csv(rows)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "choices": filter_choices(),
        "bands": Band.choices,
        "query": request.GET.copy(),
        "mine": request.GET.get("owner") == MINE,
    }
    context["query"].pop("page", None)
    return render(request, "kpis/accounts.html", context)


def _accounts_csv(rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="accounts.csv"'
    writer = csv.writer(response)
    writer.writerow(EXPORT_COLUMNS)
    for account in rows:
        writer.writerow([csv_safe(getattr(account, column)) for column in EXPORT_COLUMNS])
    return response


@login_required
def account_detail(request, pk: int):
    version = health_model_current().version
    account = get_object_or_404(accounts_filtered(version, account_filters({})), pk=pk)
    history = account_health_history(account, version)
    latest = history[-1] if history else None
    explanation = latest.explanation if latest else {}
    kpi_names = dict(KpiDefinition.objects.values_list("key", "name"))
    series = account_kpi_series(account)
    latest_values = {k["kpi"]: k["value"] for k in explanation.get("kpis", [])}
    context = {
        "account": account,
        "latest": latest,
        "explanation": _named(explanation, kpi_names),
        "series": series,
        "insights": account.insights.order_by("-period")[:10],
        "projection": account.projections.filter(model_version=version).first(),
        "benchmarks": account_benchmarks(account, latest_values),
        "peers": account_peer_benchmarks(request.tenant, account, latest_values),
        "practices": best_practices_for(explanation),
        "chart": _account_chart(history, explanation, series, kpi_names),
        "kpi_names": kpi_names,
        "min_accounts": MIN_ACCOUNTS,
        "churn_drivers": _labelled(explanation.get("churn_drivers", []), kpi_names),
        "executions": account.executions.select_related("playbook").order_by("-started_at")[:10],
        "timeline": account_timeline(account, page=_page_number(request.GET.get("timeline_page"))),
        "note_form": AccountNoteForm(),
    }
    return render(request, "kpis/account_detail.html", context)


def _page_number(text: str | None) -> int:
    """A page number from the query string; anything that is not one shows the first page."""
    return int(text) if text and text.isdigit() and int(text) >= 1 else 1


@editor_required
@require_POST
def account_note_view(request, pk: int):
    account = get_object_or_404(Account, pk=pk)
    form = AccountNoteForm(request.POST)
    timeline = reverse("account_detail", args=[pk]) + "#timeline"
    if not form.is_valid():
        messages.error(request, "The note was not kept: " + " ".join(form.errors.get("body", [])))
        return redirect(timeline)
    try:
        account_note_add(account=account, body=form.cleaned_data["body"], author=str(request.user))
    except ValidationError as refusal:
        messages.error(request, "The note was not kept: " + " ".join(refusal.messages))
    return redirect(timeline)


def _named(explanation: dict, names: dict) -> dict:
    """The explanation with KPI names next to keys, contributions largest first."""
    kpis = sorted(explanation.get("kpis", []), key=lambda k: -k["points"])
    drivers = explanation.get("drivers", [])
    return {
        **explanation,
        "kpis": [k | {"name": names.get(k["kpi"], k["kpi"])} for k in kpis],
        "drivers": [d | {"name": names.get(d["kpi"], d["kpi"])} for d in drivers],
    }


def _labelled(drivers: list[dict], names: dict) -> list[dict]:
    """Churn drivers with a name a person reads: the KPI's, or what the feature measures."""
    return [driver | {"label": _feature_label(driver["feature"], names)} for driver in drivers]


def _feature_label(feature: str, names: dict) -> str:
    kind, _, key = feature.partition(":")
    if kind == "kpi":
        return names.get(key, key)
    return f"{key}: trend over 3 months" if kind == "trend" else "Data coverage"


def _account_chart(history, explanation, series, names) -> dict:
    contributions = sorted(explanation.get("kpis", []), key=lambda k: -k["points"])
    return {
        "history_labels": [f"{s.period:%b %Y}" for s in history],
        "history_scores": [round(s.score, 1) for s in history],
        "contribution_labels": [names.get(k["kpi"], k["kpi"]) for k in contributions],
        "contributions": [k["points"] for k in contributions],
        "contribution_bands": [k["band"] for k in contributions],
        # One bar per KPI: the chart grows with its rows instead of squeezing or padding them.
        "contribution_height": 60 + 24 * len(contributions),
        "kpis": [
            {
                "key": s["kpi"].key,
                "name": s["kpi"].name,
                "unit": s["kpi"].unit,
                "labels": [f"{p['period']:%b %Y}" for p in s["points"]],
                "values": [p["value"] for p in s["points"]],
                "critical": s["kpi"].critical,
                "healthy": s["kpi"].healthy,
            }
            for s in series
            if s["points"]
        ],
    }


@login_required
def insights(request):
    """Open problems first by default, critical before warnings; triage in place."""
    try:
        filters = insight_filters(request.GET, default_status="open")
    except ValidationError:
        filters = insight_filters({}, default_status="open")
    rows = insights_filtered(replace(filters, kind=filters.kind or "problems"))
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for insight in page.object_list:
        insight.status = insight.status_on(today)
    query = request.GET.copy()
    query.pop("page", None)
    counts = insight_counts(insights_filtered(replace(filters, severity="", kind=filters.kind or "problems")))
    context = {
        "page": page,
        "filters": filters,
        "kind": filters.kind or "problems",
        "counts": counts,
        "total": sum(counts.values()),
        "teammates": User.objects.filter(is_active=True).order_by("username"),
        "query": query.urlencode(),
        "snooze_default": today + dt.timedelta(days=7),
    }
    return render(request, "kpis/insights.html", context)


@editor_required
@require_POST
def insight_triage(request, pk: int):
    """Acknowledge, reopen, snooze or assign one insight, then back to the list it was on."""
    insight = get_object_or_404(Insight, pk=pk)
    action = request.POST.get("action", "")
    changes = {
        "acknowledge": {"status": "acknowledged"},
        "reopen": {"status": "open"},
        "snooze": {"snoozed_until": _date_or_none(request.POST.get("until", ""))},
        "assign": {"assigned_to": request.POST.get("assignee") or None},
    }.get(action)
    if changes is None or ("snoozed_until" in changes and changes["snoozed_until"] is None):
        messages.error(request, "Choose acknowledge, reopen, assign, or snooze with a date (YYYY-MM-DD).")
    else:
        try:
            insight_triage_apply(insight=insight, changes=changes, by=f"user:{request.user.username}")
            messages.success(request, f"“{insight.title}”: {TRIAGE_DONE[action]}.")
        except ValidationError as refused:
            messages.error(request, " ".join(refused.messages))
    return redirect(_back_to_list(request.POST.get("next", "")))


TRIAGE_DONE = {"acknowledge": "acknowledged", "reopen": "reopened", "snooze": "snoozed", "assign": "assigned"}


def _date_or_none(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _back_to_list(target: str) -> str:
    # Only a path of this site: the form's `next` must never send the user elsewhere.
    return target if target.startswith("/") and not target.startswith("//") else reverse("insights")


@admin_required
@require_http_methods(["GET", "POST"])
def health_settings(request):
    """Weights, thresholds and rules, with a preview of band changes before saving. They start
    from the newest version, even one still backfilling, which the next save builds on."""
    model = health_model_newest()
    categories = list(
        KpiDefinition.objects.order_by("category").values_list("category", flat=True).distinct()
    )
    initial = HealthModelForm.initial_from(model, categories)
    form = HealthModelForm(request.POST or None, initial=initial, categories=categories)
    preview = None
    if request.method == "POST" and form.is_valid():
        proposed = model_rules(_unsaved(model, form.model_changes()))
        if "save" in request.POST:
            health_model_update(
                created_by=request.user.username, actor=user_actor(request.user), **form.model_changes()
            )
            messages.success(
                request, "Saved as a new model version. History is being recomputed in the background."
            )
            return redirect("health_settings")
        preview = band_change_preview(model_rules(model), proposed)
    kpis = KpiDefinition.objects.order_by("category", "name")
    proof = report_cards()
    context = {
        "form": form,
        "model": model,
        "live": health_model_current(),
        "preview": preview,
        "kpis": kpis,
        "proof": proof,
        "bands": Band.values,
        "columns": _card_columns(proof),
        "chart": _proof_chart(proof),
    }
    return render(request, "kpis/settings.html", context)


def _card_columns(proof: dict) -> list[dict]:
    """The report cards side by side: current version, previous version, latest learned model."""
    columns = [
        {"title": f"{name.title()}: version {entry['version']} ({entry['method']})", "card": entry["card"]}
        for name, entry in (("current", proof["current"]), ("previous", proof["previous"]))
        if entry
    ]
    learned = proof["learned_model"]
    if learned and learned.report_card:
        label = "proven" if learned.proven else "unproven"
        columns.append(
            {
                "title": f"Learned model, trained {learned.created_at:%Y-%m-%d} ({label})",
                "card": learned.report_card,
            }
        )
    return columns


def _proof_chart(proof: dict) -> dict:
    """Reliability diagram and band churn rates of the cards, for static/js/charts.js."""
    columns = [column for column in _card_columns(proof) if column["card"]]
    return {
        "bands": [label for _value, label in Band.choices],
        "band_churn": [
            {"label": c["title"], "rates": [c["card"]["bands"][band]["churn_rate"] for band in Band.values]}
            for c in columns
        ],
        "reliability": [
            {
                "label": c["title"],
                "points": [{"x": p["predicted"], "y": p["observed"]} for p in c["card"]["reliability"]],
            }
            for c in columns
        ],
    }


def _back_to_settings(request, level: int, text: str):
    messages.add_message(request, level, text)
    return redirect("health_settings")


@admin_required
@require_POST
def report_card_refresh_view(request):
    report_card_refresh_later()
    return _back_to_settings(
        request, messages.SUCCESS, "The report card is being recomputed; reload in a moment."
    )


@admin_required
@require_POST
def learned_model_train_view(request):
    learned_model_request(requested_by=request.user.username)
    return _back_to_settings(
        request, messages.SUCCESS, "Training the learned model in the background; reload in a minute."
    )


@admin_required
@require_POST
def learned_model_activate_view(request):
    learned = learned_model_latest()
    if learned is None:
        return _back_to_settings(request, messages.ERROR, "There is no learned model yet; train one first.")
    try:
        model = learned_model_activate(
            learned_model=learned, created_by=request.user.username, actor=user_actor(request.user)
        )
    except ActivationRefused as refused:
        return _back_to_settings(request, messages.ERROR, "Not switched: " + " ".join(refused.messages))
    return _back_to_settings(
        request,
        messages.SUCCESS,
        f"The learned model is the live score from version {model.version}; history is being recomputed.",
    )


@admin_required
@require_POST
def health_rules_restore_view(request):
    model = health_rules_restore(created_by=request.user.username, actor=user_actor(request.user))
    return _back_to_settings(
        request, messages.SUCCESS, f"The rules are the live score again from version {model.version}."
    )


def _unsaved(model, changes: dict):
    """A copy of the model with the proposed changes, not saved."""
    proposed = type(model)(**{f.attname: getattr(model, f.attname) for f in model._meta.concrete_fields})
    for name, value in changes.items():
        setattr(proposed, name, value)
    return proposed


@admin_required
@require_http_methods(["GET", "POST"])
def kpi_settings(request, key: str):
    kpi = get_object_or_404(KpiDefinition, key=key)
    form = KpiRangeForm(request.POST or None, instance=KpiDefinition.objects.get(pk=kpi.pk))
    if request.method == "POST" and form.is_valid():
        try:
            kpi_definition_update(
                kpi=kpi, created_by=request.user.username, actor=user_actor(request.user), **form.cleaned_data
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, f"{kpi.name} updated; health is being recomputed under a new model version."
            )
            return redirect("health_settings")
    return render(request, "kpis/kpi_settings.html", {"form": form, "kpi": kpi})
