from axes.admin import IsLockedOutFilter
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db import connection
from django.utils import timezone

from users.admin_sites import ServiceRefusalsAsMessages, tenant_admin_site
from users.models import User
from users.roles import roles_up_to
from users.services import lockout_clear, staff_user_save, user_save
from users.throttling import lockout_key, lockout_key_split


class PulseUserAdmin(ServiceRefusalsAsMessages, UserAdmin):
    """Pulse staff in the public back office; saving goes through the staff user service."""

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

    def save_model(self, request, obj, form, change):
        staff_user_save(user=obj)


class WorkspaceUserAdmin(PulseUserAdmin):
    """A workspace's team on its host's /admin/. The role says what someone may do, so Django's
    superuser, staff, group and permission fields are not offered; saving goes through the user
    service, which refuses a role above the admin's own or a user past the plan's limit, and never
    makes a superuser."""

    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("full_name", "email")}),
        ("Workspace", {"fields": ("role", "is_active", "must_change_password")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "email",
                    "full_name",
                    "role",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")
    filter_horizontal = ()

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role":
            allowed = roles_up_to(request.user.role)
            kwargs["choices"] = [(value, label) for value, label in User.Role.choices if value in allowed]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        user_save(user=obj, acting_role=request.user.role)


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

    # Attempts live in the public schema (a shared app), outside the models a workspace admin's
    # role grants (users.backends.WorkspaceAdminBackend); this site's admins see their own here.
    def has_module_permission(self, request) -> bool:
        return getattr(request.user, "is_tenant_admin", False)  # the sign-in page asks anonymously

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_unlock_permission(self, request) -> bool:
        return self.has_module_permission(request)

    def get_queryset(self, request):
        own_keys = lockout_key(schema_name=connection.schema_name, username="")
        return super().get_queryset(request).filter(username__startswith=own_keys)

    def owner_of(self, key: str) -> tuple[str, str]:
        """Always this workspace's schema, whatever the key says."""
        return connection.schema_name, lockout_key_split(key)[1]


# Staff users in the public back office; a tenant's own team on its host's /admin/.
admin.site.register(User, PulseUserAdmin)
tenant_admin_site.register(User, WorkspaceUserAdmin)
admin.site.register(AccessAttempt, SignInLockoutAdmin)
tenant_admin_site.register(AccessAttempt, WorkspaceSignInLockoutAdmin)
