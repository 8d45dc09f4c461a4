"""One-time sign-in links that carry a login from the public site to a tenant's host.

Cookies are host-only, so after registration on the public host the new admin must be
signed in on <slug>.<base>. The token is signed for that schema only, expires in two
minutes and dies at first use (it embeds last_login, which login() changes).
"""

from django.core import signing

from users.models import User

MAX_AGE_SECONDS = 120


def _salt(schema_name: str) -> str:
    return f"pulse.handoff.{schema_name}"


def _login_stamp(user: User) -> str:
    return user.last_login.isoformat() if user.last_login else ""


def handoff_token_make(*, schema_name: str, user: User) -> str:
    return signing.dumps({"u": user.pk, "l": _login_stamp(user)}, salt=_salt(schema_name))


def handoff_user_resolve(*, schema_name: str, token: str) -> User | None:
    """The user the token signs in, or None if it is forged, expired, used or foreign."""
    try:
        payload = signing.loads(token, salt=_salt(schema_name), max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    user = User.objects.filter(pk=payload.get("u"), is_active=True).first()
    if user is None or _login_stamp(user) != payload.get("l"):
        return None
    return user
