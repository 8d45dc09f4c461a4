"""One-time links that let an invited teammate set their first password.

The link is signed for one schema (a link of one workspace means nothing on another), expires
after INVITE_MAX_AGE, and dies once used: it carries a fingerprint of the user's password hash,
which setting a password (or inviting again) changes.
"""

import datetime as dt

from django.core import signing
from django.utils.crypto import salted_hmac

from users.models import User

INVITE_MAX_AGE = dt.timedelta(days=3)


def _salt(schema_name: str) -> str:
    return f"pulse.invite.{schema_name}"


def _password_stamp(user: User) -> str:
    return salted_hmac("pulse.invite.password", user.password).hexdigest()[:20]


def invite_token_make(*, schema_name: str, user: User) -> str:
    return signing.dumps({"u": user.pk, "p": _password_stamp(user)}, salt=_salt(schema_name))


def invite_user_resolve(*, schema_name: str, token: str) -> User | None:
    """The invited user the token is for, or None if it is forged, expired, used, foreign or the
    user was deactivated since."""
    try:
        payload = signing.loads(token, salt=_salt(schema_name), max_age=INVITE_MAX_AGE)
    except signing.BadSignature:
        return None
    user = User.objects.filter(pk=payload.get("u"), is_active=True).first()
    if user is None or _password_stamp(user) != payload.get("p"):
        return None
    return user
