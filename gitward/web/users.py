"""The UI's users: names and password hashes in a Secret in gitward's namespace.

::

    kind: Secret
    metadata: {name: gitward-ui-users, namespace: gitward-system}
    stringData:
      alice: scrypt$16384$8$1$...   # gitward ui hash-password

One key per user, its value a hash from :mod:`gitward.web.passwords`; no
password is ever stored. The Secret is read through the controller's
:class:`~gitward.kube.Kube` at each login, so a user added or removed counts
from the next login on, with no restart (a session already open lasts until
it expires or logs out).

A login with an unknown name checks a decoy hash, so it takes as long as a
wrong password: the answer's timing does not tell which names exist.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from dataclasses import dataclass

from gitward.errors import GitwardError
from gitward.kube import Kube, KubeError
from gitward.web.passwords import PasswordFormatError, decoy, verify_password

__all__ = ["LoginUnavailable", "UsersSecret", "check_password"]

log = logging.getLogger("gitward.web")


class LoginUnavailable(GitwardError):
    """The users Secret could not be read; nobody can log in with a password until it can."""


@dataclass(frozen=True)
class UsersSecret:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"Secret/{self.namespace}/{self.name}"


async def _stored_hash(kube: Kube, secret: UsersSecret, user: str) -> str | None:
    """The hash stored for ``user``; ``None`` when the Secret or the user is not there."""
    try:
        resource = await kube.resource_for("v1", "Secret")
        body = (
            await kube.get(resource, name=secret.name, namespace=secret.namespace)
            if resource is not None
            else None
        )
    except KubeError as e:
        raise LoginUnavailable(f"{secret}: cannot read the UI's users: {e}") from e
    if body is None:
        return None
    encoded = (body.get("data") or {}).get(user)
    if not isinstance(encoded, str):
        return None
    try:
        return base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        log.warning("%s: key %s is not base64 text; that user cannot log in", secret, user)
        return None


async def check_password(kube: Kube, secret: UsersSecret, user: str, password: str) -> bool:
    """Whether ``user`` is in the Secret and ``password`` matches its hash."""
    stored = await _stored_hash(kube, secret, user) if user else None
    try:
        # scrypt takes tens of milliseconds of CPU: off the controller's loop.
        ok = await asyncio.to_thread(verify_password, password, stored or decoy())
    except PasswordFormatError as e:
        log.warning("%s: key %s: %s; that user cannot log in", secret, user, e)
        await asyncio.to_thread(verify_password, password, decoy())
        return False
    return ok and stored is not None
