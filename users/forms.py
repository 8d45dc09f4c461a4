from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from users.audit import TARGET_TYPES
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


class AuditFilterForm(forms.Form):
    """The audit page's filters (all optional): what changed, who changed it, between which days."""

    target_type = forms.ChoiceField(
        label="What",
        required=False,
        choices=[("", "Everything"), *((t, t.capitalize()) for t in TARGET_TYPES)],
    )
    actor = forms.CharField(label="Who", required=False, max_length=150, help_text="e.g. user:ann or api:pk_")
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise ValidationError("The “From” day is after the “To” day; swap them.")
        return cleaned
