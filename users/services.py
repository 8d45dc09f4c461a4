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
from django.db.models import Q
from django.dispatch import Signal
from django_tenants.utils import get_public_schema_name

from users.audit import SYSTEM, audit_record, user_actor
from users.models import User
from users.notifications import CHOICES
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
    actor: str = SYSTEM,
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
    user_save(user=user, acting_role=acting_role)
    _user_audit(actor=actor, action="created", user=user, detail={"role": user.role})
    return user


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


@transaction.atomic
def user_notifications_set(*, user: User, choices: dict[str, bool]) -> User:
    """A user's own choice of what they are e-mailed about; any choice not given is unchanged."""
    unknown = set(choices) - set(CHOICES)
    if unknown:
        raise ValidationError({name: "Not a notification choice." for name in sorted(unknown)})
    for name, wanted in choices.items():
        setattr(user, name, bool(wanted))
    user.save(update_fields=list(choices))
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


@transaction.atomic
def user_invite(
    *, email: str, acting_role: str, role: str = User.Role.VIEWER, full_name: str = "", actor: str = SYSTEM
) -> User:
    """Add a teammate who has no password yet: they choose one through the invitation link
    (users.invitations), so nobody else ever knows it. The e-mail address is the username."""
    email = email.strip().lower()
    if User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email)).exists():
        raise ValidationError(
            {"email": f"{email} is already on this team; change their role or reactivate them."}
        )
    user = User(username=email, email=email, full_name=full_name, role=role)
    user.set_unusable_password()
    user_save(user=user, acting_role=acting_role)
    _user_audit(actor=actor, action="invited", user=user, detail={"role": role})
    return user


@transaction.atomic
def user_invite_renew(*, user: User) -> User:
    """A fresh start for a teammate who has not set a password yet: earlier links stop working."""
    if not user.is_active:
        raise ValidationError(f"{user} is deactivated; reactivate them first.")
    if user.has_usable_password():
        raise ValidationError(f"{user} has already set a password; they can sign in.")
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return user


@transaction.atomic
def user_role_change(*, user: User, role: str, acting_user: User) -> User:
    """Give a teammate another role (never above the acting user's, never leaving no admin)."""
    if user.pk == acting_user.pk:
        raise ValidationError({"role": "You cannot change your own role; ask another admin."})
    if user.is_tenant_admin and role != User.Role.ADMIN:
        _other_active_admin_require(user=user, action="take the admin role from")
    before = user.role
    user.role = role
    user_save(user=user, acting_role=acting_user.role)
    if before != role:
        _user_audit(
            actor=user_actor(acting_user), action="changed", user=user, detail={"role": [before, role]}
        )
    return user


@transaction.atomic
def user_active_set(*, user: User, active: bool, acting_user: User) -> User:
    """Deactivate (they can no longer sign in; their name stays on what they did) or reactivate."""
    if user.pk == acting_user.pk:
        raise ValidationError("You cannot deactivate yourself; ask another admin.")
    if not active and user.is_tenant_admin:
        _other_active_admin_require(user=user, action="deactivate")
    was_active = user.is_active
    user.is_active = active
    user_save(user=user, acting_role=acting_user.role)
    if was_active != active:
        _user_audit(
            actor=user_actor(acting_user), action="reactivated" if active else "deactivated", user=user
        )
    return user


def _user_audit(*, actor: str, action: str, user: User, detail: dict | None = None) -> None:
    audit_record(actor=actor, action=action, target_type="user", target=user.username, detail=detail)


def _other_active_admin_require(*, user: User, action: str) -> None:
    others = User.objects.select_for_update().filter(role=User.Role.ADMIN, is_active=True).exclude(pk=user.pk)
    if not others.exists():
        raise ValidationError(f"Cannot {action} {user}: a workspace needs at least one active admin.")


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
