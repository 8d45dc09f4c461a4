from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from config.admin_sites import tenant_admin_site
from users.models import User


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


# Staff users in the public back office; a tenant's own team on its host's /admin/.
admin.site.register(User, PulseUserAdmin)
tenant_admin_site.register(User, PulseUserAdmin)
