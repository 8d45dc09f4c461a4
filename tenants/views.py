"""The public site (landing page, registration) and the workspace settings pages."""

import datetime as dt
from http import HTTPStatus

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django_tenants.utils import schema_context

from tenants.forms import ApiKeyForm, PeerBenchmarksForm, RegistrationForm, SlackWebhookForm, WorkspaceForm
from tenants.models import ApiKey
from tenants.selectors import usage_summary
from tenants.services import (
    AdminSpec,
    RegistrationLimitReached,
    SlugTaken,
    api_key_create,
    api_key_revoke,
    host_url,
    registration_attempt_record,
    tenant_currency_set,
    tenant_host,
    tenant_peer_benchmarks_set,
    tenant_provision,
    tenant_slack_webhook_set,
)
from tenants.usage import document_limit, request_limit
from users.audit import user_actor
from users.decorators import admin_required
from users.handoff import handoff_token_make
from users.models import User
from users.throttling import client_address


def landing(request):
    return render(request, "tenants/landing.html", {"base_domain": settings.PULSE_BASE_DOMAIN})


@require_http_methods(["GET", "POST"])
def register(request):
    form = RegistrationForm(request.POST or None)
    status = HTTPStatus.OK
    if request.method == "POST":
        try:
            registration_attempt_record(address=client_address(request))
            if form.is_valid():
                tenant = _provision_from(form.cleaned_data)
                return redirect(_welcome_url(request, tenant.schema_name))
        except RegistrationLimitReached as limited:
            form.add_error(None, limited)
            status = HTTPStatus.TOO_MANY_REQUESTS
        except SlugTaken as taken:
            form.add_error("subdomain", taken)
    context = {"form": form, "base_domain": settings.PULSE_BASE_DOMAIN}
    return render(request, "tenants/register.html", context, status=status)


def _provision_from(data: dict):
    admin = AdminSpec(full_name=data["admin_name"], email=data["email"], password=data["password"])
    return tenant_provision(name=data["company_name"], slug=data["subdomain"], admin=admin)


def _welcome_url(request, slug: str) -> str:
    """The new tenant's one-time sign-in link, on the same scheme and port as this request."""
    with schema_context(slug):
        token = handoff_token_make(schema_name=slug, user=User.objects.get(role=User.Role.ADMIN))
    return f"{host_url(request, tenant_host(slug))}welcome/{token}/"


# --- Workspace settings (tenant hosts) ------------------------------------------------------


@admin_required
@require_http_methods(["GET", "POST"])
def api_keys(request):
    """List, create (the key is shown on this response only) and revoke API keys."""
    form = ApiKeyForm(request.POST or None)
    created_key = None
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in_days"]
        _key, created_key = api_key_create(
            tenant=request.tenant,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            created_by=request.user.username,
            actor=user_actor(request.user),
            expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
        )
        form = ApiKeyForm()
    keys = ApiKey.objects.filter(tenant=request.tenant)
    return render(request, "tenants/api_keys.html", {"form": form, "keys": keys, "created_key": created_key})


@admin_required
@require_POST
def api_key_revoke_view(request, key_id: int):
    key = get_object_or_404(ApiKey, pk=key_id, tenant=request.tenant)
    api_key_revoke(key=key, actor=user_actor(request.user))
    messages.success(request, f"Key {key.prefix} revoked. Requests with it are refused from now on.")
    return redirect("api_keys")


@admin_required
@require_http_methods(["GET", "POST"])
def peer_benchmarks_settings(request):
    """Opt in to peer benchmarks (off by default), with what is shared said plainly."""
    # An unticked box posts nothing: bind on POST even when it is empty.
    data = request.POST if request.method == "POST" else None
    form = PeerBenchmarksForm(data, initial={"share": request.tenant.peer_benchmarks})
    if request.method == "POST" and form.is_valid():
        enabled = form.cleaned_data["share"]
        tenant_peer_benchmarks_set(
            tenant=request.tenant,
            enabled=enabled,
            changed_by=request.user.username,
            actor=user_actor(request.user),
        )
        messages.success(request, "Peer benchmarks are on." if enabled else "Peer benchmarks are off.")
        return redirect("peer_benchmarks_settings")
    return render(request, "tenants/peer_benchmarks.html", {"form": form, "tenant": request.tenant})


@admin_required
@require_http_methods(["GET", "POST"])
def workspace_settings(request):
    """The workspace's own presentation settings: the currency money is written in."""
    form = WorkspaceForm(request.POST or None, initial={"currency": request.tenant.currency})
    if request.method == "POST" and form.is_valid():
        tenant_currency_set(
            tenant=request.tenant, currency=form.cleaned_data["currency"], actor=user_actor(request.user)
        )
        messages.success(request, f"Money is now shown in {request.tenant.get_currency_display()}.")
        return redirect("workspace_settings")
    return render(request, "tenants/workspace.html", {"form": form})


@admin_required
@require_http_methods(["GET", "POST"])
def slack_settings(request):
    """Where new critical insights are posted (a Slack incoming webhook), or nowhere."""
    form = SlackWebhookForm(
        request.POST or None, initial={"slack_webhook_url": request.tenant.slack_webhook_url}
    )
    if request.method == "POST" and form.is_valid():
        try:
            tenant_slack_webhook_set(tenant=request.tenant, url=form.cleaned_data["slack_webhook_url"])
        except ValidationError as refusal:
            for field, errors in refusal.message_dict.items():
                form.add_error(field, errors)
        else:
            messages.success(request, "Slack settings saved.")
            return redirect("slack_settings")
    return render(request, "tenants/slack.html", {"form": form})


@login_required
def usage(request):
    """Plan, limits and this month's use, one progress bar per limit."""
    tenant = request.tenant
    summary = usage_summary(tenant)
    plan = tenant.plan
    meters = [
        _meter("API requests this month", summary["requests"], request_limit(tenant)),
        _meter("Documents this month", summary["documents"], document_limit(tenant)),
        _meter("Users", User.objects.count(), plan and plan.max_users),
    ]
    return render(request, "tenants/usage.html", {"plan": plan, "summary": summary, "meters": meters})


def _meter(label: str, used: int, limit: int | None) -> dict:
    percent = min(round(100 * used / limit), 100) if limit else 0
    return {"label": label, "used": used, "limit": limit, "percent": percent}
