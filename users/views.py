"""Sign-in, sign-out and password pages of a tenant's portal, and its team page."""

import logging
import smtplib

from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from users.audit import user_actor
from users.decorators import admin_required
from users.forms import InviteForm, LoginForm, NotificationsForm, RoleForm
from users.handoff import handoff_user_resolve
from users.invitations import INVITE_MAX_AGE, invite_token_make, invite_user_resolve
from users.models import User
from users.selectors import team_members
from users.services import (
    user_active_set,
    user_change_password,
    user_invite,
    user_invite_renew,
    user_notifications_set,
    user_role_change,
)

logger = logging.getLogger(__name__)


class LoginView(auth_views.LoginView):
    template_name = "users/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def welcome(request, token: str):
    """Finish registration: sign the new admin in on the tenant host, once."""
    user = handoff_user_resolve(schema_name=request.tenant.schema_name, token=token)
    if user is None:
        messages.info(request, "That sign-in link has expired or was already used. Please sign in.")
        return redirect("login")
    login(request, user, backend="users.backends.EmailOrUsernameBackend")
    messages.success(request, f"Welcome to Pulse, {user}! Your workspace is ready.")
    next_url = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect("home")


@login_required
def password_change(request):
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = user_change_password(user=request.user, new_password=form.cleaned_data["new_password1"])
        update_session_auth_hash(request, user)
        messages.success(request, "Your password was changed.")
        return redirect("home")
    return render(request, "users/password_change.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request):
    """Settings → Notifications: each user picks what they are e-mailed about."""
    # Not `request.POST or None`: with every box unticked the posted form is empty, yet bound.
    form = NotificationsForm(request.POST if request.method == "POST" else None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user_notifications_set(user=request.user, choices=form.cleaned_data)
        messages.success(request, "Your notification choices are saved.")
        return redirect("notifications")
    return render(request, "users/notifications.html", {"form": form})


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """The one-time link of a user who has no password yet (a migrated workspace's admin):
    Django checks the token; the password is set through the users service."""

    template_name = "users/password_set.html"
    success_url = reverse_lazy("login")

    def form_valid(self, form):
        user_change_password(user=form.user, new_password=form.cleaned_data["new_password1"])
        del self.request.session[INTERNAL_RESET_SESSION_TOKEN]
        messages.success(self.request, "Your password is set. Sign in with it.")
        return HttpResponseRedirect(self.get_success_url())


# --- Team (Settings → Team) -------------------------------------------------------------------


@admin_required
@require_http_methods(["GET", "POST"])
def team(request):
    """List teammates and invite one; the invitation link is shown on this response only."""
    form = InviteForm(request.POST or None)
    invite = None
    if request.method == "POST" and form.is_valid():
        try:
            user = user_invite(
                acting_role=request.user.role, actor=user_actor(request.user), **form.cleaned_data
            )
        except ValidationError as refusal:
            _form_errors_add(form, refusal)
        else:
            invite = _invitation_send(request, user)
            form = InviteForm()
    return _team_render(request, form=form, invite=invite)


def _team_render(request, *, form: InviteForm, invite: dict | None = None):
    context = {"form": form, "members": team_members(), "invite": invite, "role_choices": User.Role.choices}
    return render(request, "users/team.html", context)


@admin_required
@require_POST
def team_member(request, pk: int):
    """One change to one teammate: role, deactivate, reactivate, or a new invitation link."""
    member = get_object_or_404(User, pk=pk)
    action = request.POST.get("action")
    try:
        if action == "role":
            _role_change(request, member)
        elif action in ("deactivate", "reactivate"):
            user_active_set(user=member, active=action == "reactivate", acting_user=request.user)
            messages.success(request, f"{member} was {action}d.")
        elif action == "relink":
            invite = _invitation_send(request, user_invite_renew(user=member))
            return _team_render(request, form=InviteForm(), invite=invite)
        else:
            messages.error(request, "Unknown change; use the buttons on the team page.")
    except ValidationError as refusal:
        messages.error(request, " ".join(refusal.messages))
    return redirect("team")


def _role_change(request, member: User) -> None:
    form = RoleForm(request.POST)
    if not form.is_valid():
        raise ValidationError("Choose one of the roles admin, manager or viewer.")
    user_role_change(user=member, role=form.cleaned_data["role"], acting_user=request.user)
    messages.success(request, f"{member} is now a {member.get_role_display().lower()}.")


def _form_errors_add(form, refusal: ValidationError) -> None:
    if hasattr(refusal, "error_dict"):
        for field, errors in refusal.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, refusal)


def _invitation_send(request, user: User) -> dict:
    """E-mail the one-time link; return it with whether the e-mail went, for the admin to see once."""
    token = invite_token_make(schema_name=request.tenant.schema_name, user=user)
    link = request.build_absolute_uri(reverse("invite_accept", args=[token]))
    days = INVITE_MAX_AGE.days
    body = (
        f"{request.user} invited you to the {request.tenant.name} workspace on Pulse.\n\n"
        f"Choose your password here (the link works once, for {days} days):\n{link}\n"
    )
    try:
        send_mail(f"[Pulse] Join {request.tenant.name}", body, None, [user.email], fail_silently=False)
        emailed = True
    except (OSError, smtplib.SMTPException):
        # No mail server configured or reachable: the admin passes the link on instead.
        logger.warning("invitation e-mail to %s not sent", user.email, exc_info=True)
        emailed = False
    return {"user": user, "link": link, "emailed": emailed, "days": days}


@require_http_methods(["GET", "POST"])
def invite_accept(request, token: str):
    """An invited teammate chooses a password, and is signed in."""
    user = invite_user_resolve(schema_name=request.tenant.schema_name, token=token)
    if user is None:
        context = {"invalid": True}
        return render(request, "users/invite_accept.html", context, status=404)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = user_change_password(user=user, new_password=form.cleaned_data["new_password1"])
        login(request, user, backend="users.backends.EmailOrUsernameBackend")
        messages.success(request, f"Welcome to Pulse, {user}! Sign in next time with {user.email}.")
        return redirect("home")
    return render(request, "users/invite_accept.html", {"form": form, "member": user})
