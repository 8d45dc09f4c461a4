"""Two admin sites: the public back office for Pulse staff (django's default site) and a
tenant site on every tenant host that only knows models living in tenant schemas.

Every app's admin.py registers on them, so they live in the lowest layer; who may sign in to
them is a question about users (their login form, the admin role)."""

from django.contrib.admin import AdminSite

from users.forms import AdminLoginForm


class StaffAdminSite(AdminSite):
    """The public back office: `admin.site` (config.apps makes it the default site)."""

    login_form = AdminLoginForm


class TenantAdminSite(AdminSite):
    site_header = "Pulse — workspace administration"
    site_title = "Pulse workspace admin"
    index_title = "Your workspace data"
    login_form = AdminLoginForm

    def has_permission(self, request):
        """Only the tenant's admins; staff flags of other schemas never apply here."""
        user = request.user
        return user.is_active and user.is_authenticated and getattr(user, "role", "") == "admin"


tenant_admin_site = TenantAdminSite(name="tenant_admin")
