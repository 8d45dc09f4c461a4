from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from config.admin_sites import tenant_admin_site
from users.models import User
from users.roles import roles_up_to
from users.services import user_save


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


class WorkspaceUserAdmin(PulseUserAdmin):
    """A workspace's team on its host's /admin/. The role says what someone may do, so Django's
    superuser, staff, group and permission fields are not offered; saving goes through the user
    service, which refuses a role above the admin's own and never makes a superuser."""

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


# Staff users in the public back office; a tenant's own team on its host's /admin/.
admin.site.register(User, PulseUserAdmin)
tenant_admin_site.register(User, WorkspaceUserAdmin)
