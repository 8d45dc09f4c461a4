from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from users.models import User
from users.throttling import lockout_message


class LockoutMessageMixin:
    """For AuthenticationForm subclasses: a sign-in that axes refused (or that just reached the
    failure limit) says when to retry instead of "wrong password"; the page goes out as 429."""

    def get_invalid_login_error(self):
        if getattr(self.request, "axes_locked_out", False):
            message = lockout_message(self.request, self.cleaned_data["username"])
            return ValidationError(message, code="locked_out")
        return super().get_invalid_login_error()


class LoginForm(LockoutMessageMixin, AuthenticationForm):
    username = forms.CharField(label="Email or username", max_length=254)


class AdminLoginForm(LockoutMessageMixin, AdminAuthenticationForm):
    """The sign-in form of both admin sites: the staff back office and each workspace's."""


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail address")
    full_name = forms.CharField(label="Name", max_length=150, required=False)
    role = forms.ChoiceField(label="Role", choices=User.Role.choices, initial=User.Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=User.Role.choices)


class NotificationsForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["notify_on_assignment", "notify_when_due", "notify_daily_digest"]
        labels = {
            "notify_on_assignment": "E-mail me when an insight or playbook step is assigned to me",
            "notify_when_due": "E-mail me when a playbook step of mine falls due",
            "notify_daily_digest": "Send me a daily digest of my open insights and steps due this week",
        }
