"""One-time links to set a password, made with Django's password-reset tokens: a token stops
working once the password changes (it is part of what the token signs) or after
PASSWORD_RESET_TIMEOUT."""

from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from users.models import User


def password_set_path(user: User) -> str:
    """The path, on the user's tenant host, of the page that sets their password once."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("password_set", urlconf="config.urls_tenants", kwargs={"uidb64": uidb64, "token": token})
