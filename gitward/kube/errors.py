"""Errors from the API server, mapped from HTTP status, plus transport failures.

``Unavailable`` is the one temporary error: the caller may retry it.
"""

from __future__ import annotations

import re
from typing import Any

from gitward.errors import GitwardError


class KubeError(GitwardError):
    """The API server refused a request, or could not be reached."""

    status: int = 0

    def __init__(self, message: str, *, reason: str = "", details: dict[str, Any] | None = None):
        super().__init__(message)
        self.reason = reason
        self.details = details or {}


class Unauthorized(KubeError):
    status = 401


class Forbidden(KubeError):
    """The server's authorizer refused the request.

    ``user`` and ``verb`` say who was refused what (``verb`` is the RBAC verb:
    ``get``, ``list``, ``create``, ``patch``, ``delete`` …); empty when the
    server's message did not say.
    """

    status = 403

    def __init__(
        self,
        message: str,
        *,
        reason: str = "",
        details: dict[str, Any] | None = None,
        user: str = "",
        verb: str = "",
    ):
        super().__init__(message, reason=reason, details=details)
        self.user = user
        self.verb = verb


# The authorizer's message: `<what> is forbidden: User "<u>" cannot <verb> resource "<r>"
# in API group "<g>" in the namespace "<ns>"` (or `at the cluster scope`), then maybe
# `: RBAC: <reason>`.
_REFUSAL = re.compile(
    r'User "(?P<user>[^"]*)" cannot (?P<verb>[a-z]+) resource "(?P<resource>[^"]+)"'
    r'(?: in API group "[^"]*")?'
    r'(?: in the namespace "(?P<namespace>[^"]*)"| (?P<cluster>at the cluster scope))?'
)


def _forbidden(subject: str, message: str, reason: str, details: dict[str, Any]) -> Forbidden:
    """A 403 as one short line naming who was refused which verb on what, where."""
    m = _REFUSAL.search(message)
    if m is None:
        return Forbidden(f"{subject}: {message}", reason=reason, details=details)
    where = (
        f" in namespace {m['namespace']}"
        if m["namespace"]
        else (" at the cluster scope" if m["cluster"] else "")
    )
    return Forbidden(
        f"{subject}: forbidden: {m['user']} cannot {m['verb']} {m['resource']}{where}",
        reason=reason,
        details=details,
        user=m["user"],
        verb=m["verb"],
    )


class NotFound(KubeError):
    status = 404


class Conflict(KubeError):
    status = 409


class Gone(KubeError):
    """A watch or list asked for a resourceVersion that has been compacted."""

    status = 410


class Invalid(KubeError):
    status = 422


class Unavailable(KubeError):
    """Transport failure, timeout or 5xx: temporary, worth a retry."""

    status = 503


_BY_STATUS: dict[int, type[KubeError]] = {
    c.status: c for c in (Unauthorized, Forbidden, NotFound, Conflict, Gone, Invalid)
}


def from_status(code: int, subject: str, payload: dict[str, Any] | None) -> KubeError:
    """Build the error for an HTTP ``code``; ``payload`` is the API's ``Status`` if any."""
    payload = payload or {}
    message = str(payload.get("message") or f"HTTP {code}")
    reason = str(payload.get("reason") or "")
    details = payload.get("details") or {}
    if code == Forbidden.status:
        return _forbidden(subject, message, reason, details)
    cls = _BY_STATUS.get(code)
    if cls is None:
        cls = Unavailable if code >= 500 or code == 429 else KubeError
    err = cls(f"{subject}: {message}", reason=reason, details=details)
    return err
