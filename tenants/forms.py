from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from tenants.models import ApiKey, Currency
from tenants.services import slug_ensure_available
from users.models import User


class RegistrationForm(forms.Form):
    company_name = forms.CharField(max_length=100)
    subdomain = forms.CharField(
        max_length=30,
        label="Workspace address",
        help_text=f"Your workspace's address will be <this>.{settings.PULSE_BASE_DOMAIN}: lowercase letters, "
        "digits and hyphens.",
    )
    admin_name = forms.CharField(max_length=100, label="Your name")
    email = forms.EmailField(label="Work email")
    password = forms.CharField(widget=forms.PasswordInput, strip=False)

    def clean_subdomain(self) -> str:
        slug = self.cleaned_data["subdomain"].strip().lower()
        slug_ensure_available(slug)
        return slug

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            # Validate against the would-be user so "similar to your email" is caught too.
            probe = User(
                username=cleaned.get("email", ""),
                email=cleaned.get("email", ""),
                full_name=cleaned.get("admin_name", ""),
            )
            try:
                validate_password(password, user=probe)
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Where the key is used, e.g. “CRM sync”.")
    scope = forms.ChoiceField(choices=ApiKey.Scope.choices, initial=ApiKey.Scope.WRITE)
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, help_text="Leave empty for a key that does not expire."
    )


class WorkspaceForm(forms.Form):
    currency = forms.ChoiceField(
        choices=Currency.choices, help_text="Amounts are shown in it, never converted."
    )


class SlackWebhookForm(forms.Form):
    # A CharField: tenants.validators.slack_webhook_refusal, in the service, says what is wrong.
    slack_webhook_url = forms.CharField(
        label="Slack incoming-webhook URL",
        required=False,
        max_length=300,
        help_text="New critical insights are posted here, one message per health refresh. Empty: none.",
    )


class PeerBenchmarksForm(forms.Form):
    share = forms.BooleanField(
        required=False,
        label="Share this workspace's aggregates and see peer benchmarks",
    )
