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


def editor_required(view):
    """Managers and admins: the people who load data and run playbooks."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not request.user.can_edit:
            return render(request, "users/admin_only.html", {"needs": "a manager or admin"}, status=403)
        return view(request, *args, **kwargs)

    return wrapper
