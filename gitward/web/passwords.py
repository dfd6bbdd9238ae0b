"""Password hashes for the UI's users: scrypt from :mod:`hashlib`, salted, self-describing.

A hash reads ``scrypt$<n>$<r>$<p>$<salt>$<key>`` (salt and key in unpadded
URL-safe base64), so the cost can be raised later without breaking the
hashes already in the users Secret. ``gitward ui hash-password`` makes one.

scrypt is memory-hard (16 MiB at the default cost): a stolen Secret costs an
attacker a lot per guess, and checking one login costs the controller tens of
milliseconds, which is why :mod:`gitward.web.routes` checks one at a time.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import secrets

__all__ = ["PasswordFormatError", "decoy", "hash_password", "is_hash", "verify_password"]

SCHEME = "scrypt"
#: The cost of new hashes (CPU and memory: 128 * r * n bytes, 16 MiB here).
N, R, P = 1 << 14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
#: Refused above this, so a hash in the Secret cannot make a login take the controller down.
MAX_MEMORY = 64 << 20


class PasswordFormatError(ValueError):
    """A stored hash that is not ``scrypt$n$r$p$salt$key``; the message never holds the hash."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=MAX_MEMORY, dklen=length
    )


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A new hash of ``password`` with a random salt (or ``salt``, for tests)."""
    if not password:
        raise ValueError("an empty password cannot be hashed")
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, N, R, P, KEY_BYTES)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(key)}"


def _parse(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    parts = encoded.strip().split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise PasswordFormatError(f"not a {SCHEME}$n$r$p$salt$key hash")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, key = _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, binascii.Error) as e:
        raise PasswordFormatError(f"a malformed {SCHEME} hash: {type(e).__name__}") from e
    if n < 2 or n & (n - 1) or not (1 <= r <= 64) or not (1 <= p <= 16):
        raise PasswordFormatError(f"{SCHEME} cost out of range (n a power of 2, r 1-64, p 1-16)")
    if 128 * r * n * p > MAX_MEMORY or len(salt) < 8 or len(key) < 16:
        raise PasswordFormatError(f"{SCHEME} hash too costly, or its salt or key too short")
    return n, r, p, salt, key


def is_hash(encoded: str) -> bool:
    """Whether ``encoded`` is a hash this module can check."""
    try:
        _parse(encoded)
    except PasswordFormatError:
        return False
    return True


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded``, compared in constant time.

    Raises :class:`PasswordFormatError` for a hash that does not parse.
    """
    n, r, p, salt, key = _parse(encoded)
    return hmac.compare_digest(_derive(password, salt, n, r, p, len(key)), key)


@functools.cache
def decoy() -> str:
    """A hash to check against when the user is unknown, so that takes as long as a known one."""
    return hash_password(secrets.token_urlsafe(16))
