"""Sign-in, sign-out and password pages of a tenant's portal."""

from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme

from users.forms import LoginForm
from users.handoff import handoff_user_resolve
from users.services import user_change_password


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
