"""What every UI route shares: who is asking, what they may do, and how a page is drawn.

Who may do what:

- Reading (every page, part and the live stream) is open when the controller
  listens on loopback, as the JSON API is; anywhere else it needs a login (a
  session cookie, see :mod:`gitward.web.sessions`) or the API's bearer token.
- Acting (sync, refresh, rollback, log out) always needs a login and the
  session's CSRF token, or the bearer token in a header (which no browser
  sends by itself). With neither an API token nor a users Secret nobody can
  log in, so no action runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from gitward.api.auth import bearer_matches
from gitward.api.routes import read_body
from gitward.web import views
from gitward.web.protocols import UiSource
from gitward.web.sessions import COOKIE, Session, Sessions
from gitward.web.users import UsersSecret

__all__ = ["UiContext", "UiOptions"]

MAX_FORM_BYTES = 16 << 10
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class UiOptions:
    #: The controller's API token; empty: nobody logs in with a token, and the bearer is off.
    token: str
    #: Whether pages may be read without a login (the UI listens on loopback).
    open_reads: bool
    #: Mark the session cookie Secure even on plain HTTP (behind a TLS proxy).
    secure_cookie: bool = False
    #: The Secret of users and password hashes; ``None``: no password logins.
    users: UsersSecret | None = None


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gitward.web", "templates"),
        autoescape=True,
    )
    env.globals["icons"] = views.ICONS
    return Jinja2Templates(env=env)


class UiContext:
    """The controller, the logins and the templates of one UI."""

    def __init__(self, source: UiSource, options: UiOptions) -> None:
        self.source = source
        self.options = options
        self.templates = _templates()
        self.sessions = Sessions(options.token, passwords=options.users is not None)

    def session_of(self, request: Request) -> Session | None:
        return self.sessions.get(request.cookies.get(COOKIE))

    def bearer(self, request: Request) -> bool:
        return bool(self.options.token) and bearer_matches(request.headers, self.options.token)

    def may_read(self, request: Request) -> bool:
        return (
            self.options.open_reads or self.session_of(request) is not None or self.bearer(request)
        )

    def require_read(self, request: Request) -> None:
        if not self.may_read(request):
            raise HTTPException(401, f"{request.url.path}: log in at /ui/login first")

    def page(
        self, request: Request, name: str, context: dict[str, Any], status: int = 200
    ) -> Response:
        session = self.session_of(request)
        response = self.templates.TemplateResponse(
            request,
            name,
            {
                "session": session,
                "csrf": session.csrf if session else "",
                "can_login": self.sessions.enabled,
                **context,
            },
            status_code=status,
        )
        response.headers.update(SECURITY_HEADERS)
        return response

    def unavailable_page(self, request: Request) -> Response | None:
        reason = self.source.unavailable()
        if not reason:
            return None
        return self.page(request, "unavailable.html", {"reason": reason}, status=503)

    def known_app(self, request: Request) -> str:
        name = str(request.path_params["name"])
        if name not in self.source.app_names():
            raise HTTPException(404, f"app {name[:100]} not found")
        return name

    async def form_of(self, request: Request) -> dict[str, str]:
        """The form fields of the request's body (read once, then remembered)."""
        cached: dict[str, str] | None = getattr(request.state, "form", None)
        if cached is not None:
            return cached
        body = await read_body(request, limit=MAX_FORM_BYTES)
        try:
            fields = parse_qs(body.decode("utf-8"), max_num_fields=20)
        except (UnicodeDecodeError, ValueError) as e:
            raise HTTPException(400, f"{request.url.path}: malformed form: {e}") from e
        form = {key: values[0] for key, values in fields.items()}
        request.state.form = form
        return form

    @staticmethod
    def same_origin(request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None:
            return True
        return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"

    async def require_action(self, request: Request) -> None:
        """Refuse an action without a login and its CSRF token (or the bearer token)."""
        subject = f"{request.method} {request.url.path}"
        if self.bearer(request):
            return
        if not self.sessions.enabled:
            raise HTTPException(
                403,
                f"{subject}: actions need a login, and the controller has neither an API "
                "token nor a users Secret",
            )
        session = self.session_of(request)
        if session is None:
            raise HTTPException(401, f"{subject}: log in at /ui/login first")
        given = request.headers.get("x-csrf-token") or (await self.form_of(request)).get("csrf", "")
        if not self.same_origin(request) or not self.sessions.csrf_matches(session, given):
            raise HTTPException(403, f"{subject}: the CSRF token is missing or wrong; reload")
