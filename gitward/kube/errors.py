"""Errors from the API server, mapped from HTTP status, plus transport failures.

``Unavailable`` is the one temporary error: the caller may retry it.
"""

from __future__ import annotations

import re
from typing import Any

from gitward.errors import GitwardError


def without_subject(e: Exception) -> str:
    """The server's reason without the leading ``Kind/ns/name:`` we put on it, for a
    place that names the object itself."""
    return str(e).split(": ", 1)[-1]


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


def _invalid_message(message: str, details: dict[str, Any]) -> str:
    """A 422 as ``field: problem; field: problem``, without the Go values the server
    prints into its message (``map[string]string{...}``), which help nobody."""
    causes = [c for c in details.get("causes") or [] if isinstance(c, dict)]
    if not causes:
        return message
    parts = []
    for cause in causes:
        text = _without_go_value(str(cause.get("message", "")))
        field = str(cause.get("field", ""))
        parts.append(f"{field}: {text}" if field and not text.startswith(field) else text)
    return "; ".join(dict.fromkeys(parts))


_INVALID_VALUE = "Invalid value: "
_GO_VALUE = re.compile(r"(?:map\[|\[\]|&?\w+(?:\.\w+)*\{)")


def _without_go_value(text: str) -> str:
    """``Invalid value: map[string]string{"a":"b"}: selector does not match`` ->
    ``invalid value: selector does not match``; short plain values are kept."""
    if not text.startswith(_INVALID_VALUE):
        return text
    rest = text[len(_INVALID_VALUE) :]
    if not _GO_VALUE.match(rest):
        return text
    end = _end_of_value(rest)
    if end is None:
        return text
    tail = rest[end:].lstrip(": ").strip()
    return f"invalid value: {tail}" if tail else "invalid value"


def _end_of_value(text: str) -> int | None:
    """Index just past the first balanced ``{...}``/``[...]`` group, quotes respected."""
    depth, quoted, escaped, opened = 0, False, False, False
    for i, ch in enumerate(text):
        if quoted:
            escaped = ch == "\\" and not escaped
            if ch == '"' and not escaped:
                quoted = False
            continue
        if ch == '"':
            quoted = True
        elif ch in "{[":
            depth += 1
            opened = True
        elif ch in "}]":
            depth -= 1
            if opened and depth == 0 and (i + 1 == len(text) or text[i + 1] == ":"):
                return i + 1
    return None


def from_status(code: int, subject: str, payload: dict[str, Any] | None) -> KubeError:
    """Build the error for an HTTP ``code``; ``payload`` is the API's ``Status`` if any."""
    payload = payload or {}
    message = str(payload.get("message") or f"HTTP {code}")
    reason = str(payload.get("reason") or "")
    details = payload.get("details") or {}
    if code == Forbidden.status:
        return _forbidden(subject, message, reason, details)
    if code == Invalid.status:
        message = _invalid_message(message, details)
    cls = _BY_STATUS.get(code)
    if cls is None:
        cls = Unavailable if code >= 500 or code == 429 else KubeError
    err = cls(f"{subject}: {message}", reason=reason, details=details)
    return err
