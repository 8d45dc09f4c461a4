"""Writes about users, in whatever schema is current (a tenant's, or public for staff).

Every way a workspace user is made or changed (registration, imports, the workspace admin) comes
here, so its rules hold for all of them: nobody gives a role above their own (users.roles), and
no workspace user is a Django superuser. What a user may do follows from the role; the workspace
admin site grants admins their permissions by role (users.backends.WorkspaceAdminBackend).
Superusers are Pulse staff, in the public schema only. A new workspace user must also fit the
workspace's plan: `user_adding` asks tenants, which plugs the plan's user limit in (users sits
below tenants, so it cannot read the plan itself).
"""

from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.dispatch import Signal
from django_tenants.utils import get_public_schema_name

from users.models import User
from users.roles import role_grant_refusal
from users.throttling import lockout_key

# Sent inside the transaction, before a new user is saved; a receiver refuses by raising
# ValidationError (tenants.limits' plan limit, connected in TenantsConfig.ready).
user_adding = Signal()  # no kwargs


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str,
    password: str | None,
    acting_role: str,
    full_name: str = "",
    role: str = User.Role.VIEWER,
    must_change_password: bool = False,
) -> User:
    """Create a workspace user. `acting_role` is the role of whoever asks for it: the new user's
    role may not be above it (registration and operator commands act as admin). Without a
    password the user cannot sign in until they set one through a one-time link."""
    user = User(
        username=username,
        email=email,
        full_name=full_name,
        role=role,
        must_change_password=must_change_password,
    )
    user.set_password(password)
    return user_save(user=user, acting_role=acting_role)


@transaction.atomic
def user_save(*, user: User, acting_role: str) -> User:
    """Store a new or changed workspace user, refusing a role above `acting_role` and a new user
    past the plan's limit.

    The staff flag follows the role because the workspace /admin/ sign-in form asks for it; the
    superuser flag is always off, whatever a form or caller set."""
    user.full_clean(exclude=["password"])
    refusal = role_grant_refusal(role=user.role, acting_role=acting_role)
    if refusal:
        raise ValidationError({"role": refusal})
    if user._state.adding:
        user_adding.send(sender=User)
    user.is_staff = user.is_tenant_admin
    user.is_superuser = False
    user.save()
    return user


def staff_user_save(*, user: User) -> User:
    """Store a new or changed Pulse staff user (the back office): only on the public schema, the
    one place where the superuser and staff flags are the admin's to set."""
    # django-tenants' connection carries the schema; Django's type for it does not.
    if getattr(connection, "schema_name", None) != get_public_schema_name():
        raise PermissionDenied("Pulse staff users live in the public back office, never in a workspace.")
    user.full_clean(exclude=["password"])
    user.save()
    return user


def user_change_password(*, user: User, new_password: str) -> User:
    """Set a new password (validated) and clear the must-change flag."""
    validate_password(new_password, user=user)
    user.set_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    return user


def lockout_clear(*, schema_name: str, username: str, ip_address: str | None) -> int:
    """Unlock one account of one schema for one address: forget its failed sign-ins, from every
    browser. Callers name the schema, so a workspace admin can only ever pass its own."""
    key = lockout_key(schema_name=schema_name, username=username)
    deleted, _ = AccessAttempt.objects.filter(username=key, ip_address=ip_address).delete()
    return deleted
