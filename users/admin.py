from axes.admin import IsLockedOutFilter
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db import connection
from django.utils import timezone

from config.admin_sites import tenant_admin_site
from users.models import User
from users.services import lockout_clear
from users.throttling import lockout_key, lockout_key_split


class PulseUserAdmin(UserAdmin):
    list_display = (
        "username",
        "email",
        "full_name",
        "role",
        "is_active",
        "must_change_password",
        "last_login",
    )
    list_filter = ("role", "is_active", "must_change_password")
    fieldsets = UserAdmin.fieldsets + (("Pulse", {"fields": ("full_name", "role", "must_change_password")}),)


class SignInLockoutAdmin(admin.ModelAdmin):
    """Staff: failed sign-ins of every workspace (django-axes), read-only. "Unlock" is the one way
    to clear them, so an account can sign in again before its cool-off ends."""

    list_display = (
        "workspace",
        "account",
        "ip_address",
        "failures_since_start",
        "attempt_time",
        "locked_out",
    )
    list_filter = (IsLockedOutFilter,)
    search_fields = ("username", "ip_address")
    fields = (
        "workspace",
        "account",
        "ip_address",
        "user_agent",
        "path_info",
        "failures_since_start",
        "attempt_time",
    )
    readonly_fields = fields
    actions = ["unlock"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_unlock_permission(self, request) -> bool:
        return request.user.has_perm("axes.delete_accessattempt")

    @admin.display(description="Workspace (schema)")
    def workspace(self, attempt: AccessAttempt) -> str:
        return lockout_key_split(attempt.username)[0]

    @admin.display(description="Account")
    def account(self, attempt: AccessAttempt) -> str:
        return lockout_key_split(attempt.username)[1]

    @admin.display(description="Locked out", boolean=True)
    def locked_out(self, attempt: AccessAttempt) -> bool:
        cooling_off = attempt.attempt_time + settings.AXES_COOLOFF_TIME > timezone.now()
        return cooling_off and attempt.failures_since_start >= settings.AXES_FAILURE_LIMIT

    @admin.action(
        description="Unlock: forget these failed sign-ins so the account can sign in again",
        permissions=["unlock"],
    )
    def unlock(self, request, queryset):
        pairs = set(queryset.values_list("username", "ip_address"))
        for key, ip_address in pairs:
            schema_name, username = self.owner_of(key)
            lockout_clear(schema_name=schema_name, username=username, ip_address=ip_address)
        self.message_user(request, f"Unlocked {len(pairs)} account/address pair(s); they may sign in again.")

    def owner_of(self, key: str) -> tuple[str, str]:
        """(schema, username) the unlock applies to."""
        return lockout_key_split(key)


class WorkspaceSignInLockoutAdmin(SignInLockoutAdmin):
    """A workspace admin: failed sign-ins of its own users only, and it unlocks only those."""

    list_display = ("account", "ip_address", "failures_since_start", "attempt_time", "locked_out")
    fields = ("account", "ip_address", "user_agent", "path_info", "failures_since_start", "attempt_time")
    readonly_fields = fields

    def get_queryset(self, request):
        own_keys = lockout_key(schema_name=connection.schema_name, username="")
        return super().get_queryset(request).filter(username__startswith=own_keys)

    def owner_of(self, key: str) -> tuple[str, str]:
        """Always this workspace's schema, whatever the key says."""
        return connection.schema_name, lockout_key_split(key)[1]


# Staff users in the public back office; a tenant's own team on its host's /admin/.
admin.site.register(User, PulseUserAdmin)
tenant_admin_site.register(User, PulseUserAdmin)
admin.site.register(AccessAttempt, SignInLockoutAdmin)
tenant_admin_site.register(AccessAttempt, WorkspaceSignInLockoutAdmin)
