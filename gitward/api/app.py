"""The ASGI application: routes, authentication and one error format.

Every error is ``{"error": "<message>"}`` with a message that starts with its
subject, whether the router refused the request (404, 405), the endpoint did
(:class:`~starlette.exceptions.HTTPException`), the source could not answer
(:class:`~gitward.api.protocols.SourceError`), or an endpoint failed on a bug
(500, with the traceback in the controller's log and never in the answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from gitward.api.auth import BearerBackend
from gitward.api.protocols import SourceError

__all__ = ["build_app", "error_response"]


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": message}, status, headers=headers)


def _message(request: Request, exc: HTTPException) -> str:
    """The endpoint's own message, or one that names the request for the framework's."""
    subject = f"{request.method} {request.url.path}"
    phrase = HTTPStatus(exc.status_code).phrase
    if exc.detail != phrase:
        return exc.detail
    if exc.status_code == 401:
        return f"{subject}: unauthorized; send Authorization: Bearer <API token>"
    if exc.status_code == 404:
        return f"{request.url.path}: not found"
    if exc.status_code == 405:
        allowed = ", ".join(sorted((exc.headers or {}).get("Allow", "").split(", ")))
        return f"{subject}: method not allowed; use {allowed}"
    return f"{subject}: {phrase.lower()}"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if "Allow" in headers:
        # The router builds it from a set: sort it so that every answer reads the same.
        headers["Allow"] = ", ".join(sorted(headers["Allow"].split(", ")))
    if exc.status_code == 401 and exc.detail == HTTPStatus.UNAUTHORIZED.phrase:
        # The token is missing or wrong (a webhook's bad signature is no bearer challenge).
        headers["WWW-Authenticate"] = 'Bearer realm="gitward"'
    return error_response(exc.status_code, _message(request, exc), headers)


async def _source_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SourceError)
    return error_response(exc.status, exc.message)


async def _internal_error(request: Request, exc: Exception) -> Response:
    # The server logs the traceback; the client learns only where to look.
    return error_response(
        500, f"{request.method} {request.url.path}: internal error; see the controller log"
    )


def _unauthenticated(conn: HTTPConnection, exc: Exception) -> Response:
    """A failing authentication backend refuses the request; ours never raises."""
    return error_response(401, f"{conn.url.path}: unauthorized: {exc}")


def build_app(
    *,
    routes: Sequence[BaseRoute],
    token: str,
    middleware: Sequence[Middleware] = (),
) -> Starlette:
    """The application serving ``routes``; with a ``token``, guarded routes need it."""
    app = Starlette(
        routes=list(routes),
        middleware=[
            Middleware(
                AuthenticationMiddleware, backend=BearerBackend(token), on_error=_unauthenticated
            ),
            *middleware,
        ],
        exception_handlers={
            HTTPException: _http_error,
            SourceError: _source_error,
            Exception: _internal_error,
        },
    )
    # "/api/v1/apps/" is not "/api/v1/apps": no redirect that would hide a wrong path.
    app.router.redirect_slashes = False
    return app
