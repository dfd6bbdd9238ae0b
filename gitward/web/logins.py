"""Logging in and out of the UI: a user's password (the users Secret) or the API token.

A wrong try costs half a second, and after a few from one address that
address waits (:mod:`gitward.web.throttle`); password checks run one at a
time, so a flood of logins cannot take the controller's CPU. Neither a
password nor a token ever goes into a page, a log line or an error; a log
line names the user and the client's address.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gitward.web.context import UiContext
from gitward.web.sessions import COOKIE, TTL_SECONDS, Session
from gitward.web.throttle import Throttle
from gitward.web.users import LoginUnavailable, check_password

__all__ = ["login_routes"]

log = logging.getLogger("gitward.web")

MAX_USER_CHARS = 253
MAX_PASSWORD_CHARS = 1024


def login_routes(ui: UiContext) -> list[BaseRoute]:
    throttle = Throttle()
    checking = asyncio.Lock()

    def login_page(request: Request, error: str = "", status: int = 200) -> Response:
        return ui.page(
            request,
            "login.html",
            {
                "error": error,
                "by_password": ui.sessions.by_password,
                "by_token": ui.sessions.by_token,
            },
            status=status,
        )

    async def by_password(user: str, password: str) -> Session | None:
        users = ui.options.users
        if users is None or len(user) > MAX_USER_CHARS or len(password) > MAX_PASSWORD_CHARS:
            return None
        async with checking:
            ok = await check_password(ui.source.kube, users, user, password)
        return ui.sessions.start(user) if ok else None

    async def login(request: Request) -> Response:
        if request.method == "GET":
            return login_page(request)
        if not ui.same_origin(request):
            raise HTTPException(403, "POST /ui/login: cross-origin login refused")
        client = request.client.host if request.client else "?"
        if wait := throttle.wait(client):
            raise HTTPException(
                429,
                f"POST /ui/login: too many failed logins from {client}; "
                f"try again in {int(wait) + 1} s",
                headers={"Retry-After": str(int(wait) + 1)},
            )
        form = await ui.form_of(request)
        user = form.get("user", "").strip()
        try:
            session = (
                await by_password(user, form.get("password", ""))
                if user
                else ui.sessions.login(form.get("token", ""))
            )
        except LoginUnavailable as e:
            log.warning("ui: login from %s: %s", client, e)
            return login_page(request, f"{e}", status=503)
        if session is None:
            throttle.failed(client)
            # Not the name typed: it may be a password typed in the wrong field.
            log.info("ui: failed login from %s", client)
            # A wrong guess costs a moment, so guessing costs hours.
            await asyncio.sleep(0.5 + secrets.randbelow(100) / 1000)
            if not ui.sessions.enabled:
                error = "Nobody can log in: the controller has no API token and no users Secret."
            elif user:
                error = "Unknown user or wrong password."
            else:
                error = "That is not the API token."
            return login_page(request, error, status=401)
        throttle.succeeded(client)
        log.info("ui: %s logged in from %s", session.user, client)
        response = RedirectResponse("/ui/", 303)
        response.set_cookie(
            COOKIE,
            session.id,
            max_age=TTL_SECONDS,
            path="/",
            httponly=True,
            samesite="strict",
            secure=ui.options.secure_cookie or request.url.scheme == "https",
        )
        return response

    async def logout(request: Request) -> Response:
        await ui.require_action(request)
        ui.sessions.logout(request.cookies.get(COOKIE))
        response = RedirectResponse("/ui/", 303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    return [
        Route("/ui/login", login, methods=["GET", "POST"], include_in_schema=False),
        Route("/ui/logout", logout, methods=["POST"], include_in_schema=False),
    ]
