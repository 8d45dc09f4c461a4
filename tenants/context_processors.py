from django.conf import settings


def pulse(request):
    """What every page's layout needs: the tenant (if any) and where to ask for help."""
    tenant = getattr(request, "tenant", None)
    is_public = tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME
    return {
        "current_tenant": None if is_public else tenant,
        "support_email": settings.SUPPORT_EMAIL,
    }
