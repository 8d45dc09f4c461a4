"""Writes about users, in whatever schema is current (a tenant's, or public for staff)."""

from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from users.models import User
from users.throttling import lockout_key


@transaction.atomic
def user_create(
    *,
    username: str,
    email: str,
    password: str,
    full_name: str = "",
    role: str = User.Role.VIEWER,
    must_change_password: bool = False,
) -> User:
    """Create a user. Admins also get the tenant's own /admin/ (is_staff, superuser of
    their schema only: the public schema has its own user table)."""
    is_admin = role == User.Role.ADMIN
    user = User(
        username=username,
        email=email,
        full_name=full_name,
        role=role,
        must_change_password=must_change_password,
        is_staff=is_admin,
        is_superuser=is_admin,
    )
    user.set_password(password)
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
