"""Secrets Pulse must send on a tenant's behalf (sync API keys) are stored as Fernet tokens.

Why derive the key from SECRET_KEY: it is the one secret every deployment already guards, so
there is no second key to provision, back up or lose. A fixed salt per purpose keeps these
tokens unrelated to anything else derived from SECRET_KEY (sessions, signing).

Rotation: set a new SECRET_KEY and move the old one to SECRET_KEY_FALLBACKS. Tokens made under a
fallback still decrypt and `encrypt` always uses the current key; once every key has been saved
again, drop the fallback. A token no key can read raises SecretUnreadable: enter the key again.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

SALT = b"pulse.ingest.sync-source.api-key"


class SecretUnreadable(ValueError):
    """No current or fallback SECRET_KEY decrypts the token."""


def _fernet(secret: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=b"fernet").derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _keys() -> MultiFernet:
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet(secret) for secret in secrets])


def encrypt(text: str) -> str:
    return _keys().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _keys().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable(
            "The stored API key cannot be decrypted: SECRET_KEY changed without the old one in "
            "SECRET_KEY_FALLBACKS. Enter the API key again."
        ) from error


def source_api_key(source) -> str:
    """The plaintext key, for the Authorization header only; "" when none is stored."""
    return decrypt(source.api_key_encrypted) if source.api_key_encrypted else ""
