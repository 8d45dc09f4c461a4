"""Two admin sites: the public back office for Pulse staff (django's default site) and a
tenant site on every tenant host that only knows models living in tenant schemas.

Every app's admin.py registers on them, so they live in the lowest layer; who may sign in to
them is a question about users (their login form, the admin role). So does the base every admin
class whose saves call a service uses."""

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

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


class ServiceRefusalsAsMessages:
    """For admin classes whose save_model calls a service: a refusal the service raises (a rule
    such as the plan's limits, which the form cannot know) comes back as an error message on the
    same page instead of a server error. The admin's transaction rolls back, so nothing is kept."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as refused:
            self.message_user(request, " ".join(refused.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
