"""The public site: landing page and self-service registration."""

from django.conf import settings
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_tenants.utils import schema_context

from tenants.forms import RegistrationForm
from tenants.services import AdminSpec, SlugTaken, tenant_host, tenant_provision
from users.handoff import handoff_token_make
from users.models import User


def landing(request):
    return render(request, "tenants/landing.html", {"base_domain": settings.PULSE_BASE_DOMAIN})


@require_http_methods(["GET", "POST"])
def register(request):
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tenant = _provision_from(form.cleaned_data)
        except SlugTaken as taken:
            form.add_error("subdomain", taken)
        else:
            return redirect(_welcome_url(request, tenant.schema_name))
    return render(request, "tenants/register.html", {"form": form, "base_domain": settings.PULSE_BASE_DOMAIN})


def _provision_from(data: dict):
    admin = AdminSpec(full_name=data["admin_name"], email=data["email"], password=data["password"])
    return tenant_provision(name=data["company_name"], slug=data["subdomain"], admin=admin)


def _welcome_url(request, slug: str) -> str:
    """The new tenant's one-time sign-in link, on the same scheme and port as this request."""
    with schema_context(slug):
        token = handoff_token_make(schema_name=slug, user=User.objects.get(role=User.Role.ADMIN))
    port = request.get_port()
    default_port = "443" if request.is_secure() else "80"
    host = tenant_host(slug) + ("" if port == default_port else f":{port}")
    return f"{request.scheme}://{host}/welcome/{token}/"
