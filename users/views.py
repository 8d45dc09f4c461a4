"""Sign-in, sign-out and password pages of a tenant's portal."""

from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.shortcuts import redirect, render
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
