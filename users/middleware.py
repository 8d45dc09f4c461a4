"""Send users flagged "must change password" to the change page before anything else."""

from django.shortcuts import redirect
from django.urls import reverse


class PasswordChangeRequiredMiddleware:
    ALLOWED_URL_NAMES = ("password_change", "logout")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        on_tenant_host = (
            getattr(request, "tenant", None) is not None and request.tenant.schema_name != "public"
        )
        if on_tenant_host and user.is_authenticated and user.must_change_password:
            allowed = {reverse(name) for name in self.ALLOWED_URL_NAMES}
            if request.path not in allowed and not request.path.startswith("/static/"):
                return redirect("password_change")
        return self.get_response(request)
