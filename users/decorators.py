from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


def admin_required(view):
    """Signed-in workspace admins only; others get a page that says who can help."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not request.user.is_tenant_admin:
            return render(request, "users/admin_only.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper
