"""App configs that only rename or re-wire third-party apps for Pulse."""

from axes.apps import AppConfig as AxesConfig
from django.contrib.admin.apps import AdminConfig


class PulseAdminConfig(AdminConfig):
    """Django's admin, with our staff site as the default `admin.site` (the public back office)."""

    default_site = "users.admin_sites.StaffAdminSite"


class SignInLockoutsConfig(AxesConfig):
    """django-axes under the heading admins look for."""

    verbose_name = "Sign-in lockouts"
