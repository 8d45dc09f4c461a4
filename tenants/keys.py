"""API key format and hashing, plain Python.

A key is `pk_live_<8 hex>_<43 url-safe chars>`: the first part (the prefix) is stored and
shown in lists; the secret part carries 256 random bits. Because the secret is that
strong, a salted SHA-256 is the right hash: brute force is hopeless and verification costs
microseconds, where a password hasher would cost every request hundreds of milliseconds.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "pk_live_"
PREFIX_LENGTH = len(KEY_PREFIX) + 8


@dataclass(frozen=True)
class NewKey:
    prefix: str
    secret: str
    salt: str
    secret_hash: str

    @property
    def full_key(self) -> str:
        return f"{self.prefix}_{self.secret}"


def key_hash(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def key_generate() -> NewKey:
    prefix = KEY_PREFIX + secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    return NewKey(prefix=prefix, secret=secret, salt=salt, secret_hash=key_hash(salt, secret))


def key_split(full_key: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, else None."""
    prefix, separator, secret = (
        full_key[:PREFIX_LENGTH],
        full_key[PREFIX_LENGTH : PREFIX_LENGTH + 1],
        full_key[PREFIX_LENGTH + 1 :],
    )
    if not prefix.startswith(KEY_PREFIX) or separator != "_" or not secret:
        return None
    return prefix, secret


def legacy_key_digest(full_key: str) -> str:
    """How a key taken over from the predecessor SaaS is found and checked. Those keys have no
    prefix to look up and no salt; they are random tokens, so an unsalted SHA-256 is as safe
    as the salted one above and lets a unique index find the key in one query."""
    return hashlib.sha256(full_key.encode()).hexdigest()


def key_matches(*, salt: str, secret_hash: str, secret: str) -> bool:
    return hmac.compare_digest(key_hash(salt, secret), secret_hash)
