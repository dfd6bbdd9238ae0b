"""Who may call the API: a bearer token whenever the API is reachable from off the host.

On loopback only processes on the same host (or in the same pod) reach the
API, so it may go without a token; anywhere else it must have one, and
``gitward controller`` refuses to start without it. The probes (``/healthz``,
``/readyz``) stay open for the kubelet, and the webhooks carry their own HMAC.

Starlette's authentication middleware runs :class:`BearerBackend` on every
request; an endpoint that needs the token is marked
``@requires(AUTHENTICATED, status_code=401)``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser
from starlette.requests import HTTPConnection

from gitward.hosts import is_loopback

__all__ = ["AUTHENTICATED", "BearerBackend", "bearer_matches", "is_loopback"]

#: The scope a request has when it may use the guarded routes.
AUTHENTICATED = "authenticated"


def bearer_matches(headers: Mapping[str, str], token: str) -> bool:
    """Whether ``Authorization: Bearer <token>`` is among ``headers``.

    Compared in constant time, so the answer's timing does not reveal how much
    of a guess was right. An empty ``token`` matches nothing.
    """
    scheme, _, given = headers.get("authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


class BearerBackend(AuthenticationBackend):
    """Authenticated: every request when there is no token, else those that carry it."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        if not self._token or bearer_matches(conn.headers, self._token):
            return AuthCredentials([AUTHENTICATED]), SimpleUser("api")
        return None
