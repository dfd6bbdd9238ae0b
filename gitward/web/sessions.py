"""Logins to the UI: a session cookie after a password or the API token; a CSRF token per session.

Logging in takes a user's name and password (checked against the users
Secret, :mod:`gitward.web.users`) or the controller's API token (a form, or a
Secret mounted as ``--api-token-file``), once, and gives a random session id
in a cookie that is
``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page
sends it) and ``Secure`` when the UI is served over TLS or told to be. The
token or password itself is never stored in the browser, a page or a log.

Every action (a POST) must carry the session's CSRF token, a random value
unrelated to the API token, in a form field or the ``X-CSRF-Token`` header,
and its ``Origin``, when sent, must be this server.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["COOKIE", "TOKEN_USER", "Session", "Sessions"]

COOKIE = "gitward_session"
#: A login lasts a working day; the controller's restart ends every login.
TTL_SECONDS = 8 * 3600
MAX_SESSIONS = 1000
TOKEN_USER = "API token"


@dataclass(frozen=True)
class Session:
    id: str
    csrf: str
    expires: float
    #: Who logged in: a user of the users Secret, or ``API token``.
    user: str = TOKEN_USER


class Sessions:
    """The logins of one controller, in memory."""

    def __init__(
        self, token: str, *, passwords: bool = False, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._token = token
        self._passwords = passwords
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    @property
    def enabled(self) -> bool:
        """Whether anyone can log in: with the API token, or a users Secret."""
        return bool(self._token) or self._passwords

    @property
    def by_token(self) -> bool:
        return bool(self._token)

    @property
    def by_password(self) -> bool:
        return self._passwords

    def login(self, given: str) -> Session | None:
        """A new session when ``given`` is the API token, else ``None``."""
        if not self._token or not hmac.compare_digest(
            given.strip().encode("utf-8"), self._token.encode("utf-8")
        ):
            return None
        return self.start(TOKEN_USER)

    def start(self, user: str) -> Session:
        """A new session for ``user``, whose password or token was just checked."""
        now = self._clock()
        self._sessions = {k: s for k, s in self._sessions.items() if s.expires > now}
        if len(self._sessions) >= MAX_SESSIONS:
            oldest = min(self._sessions.values(), key=lambda s: s.expires)
            del self._sessions[oldest.id]
        session = Session(
            secrets.token_urlsafe(32), secrets.token_urlsafe(32), now + TTL_SECONDS, user
        )
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None or session.expires <= self._clock():
            return None
        return session

    def logout(self, session_id: str | None) -> None:
        self._sessions.pop(session_id or "", None)

    @staticmethod
    def csrf_matches(session: Session, given: str) -> bool:
        return bool(given) and hmac.compare_digest(
            given.encode("utf-8"), session.csrf.encode("utf-8")
        )
