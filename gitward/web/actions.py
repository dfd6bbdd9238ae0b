"""The UI's actions: sync now, refresh from git, and open a rollback pull request.

Each needs a login and its CSRF token (:meth:`UiContext.require_action`).
Sync and refresh start work and return at once; the page learns how it went
from its live stream. A rollback waits for its pull request and answers with
its link: to htmx, a fragment for the page (the outcome or the reason it
failed, status 200 either way, so htmx swaps it in); to a plain form, a page
with the same, its status telling how it went (409: the rollback cannot be
made as asked, a conflict say; 502: git or the forge failed).
"""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gitward.errors import GitwardError
from gitward.promote.errors import PromoteInputError
from gitward.web.context import UiContext

__all__ = ["action_routes"]

_SHA = re.compile(r"[0-9a-f]{7,40}")


def _done(request: Request, back: str) -> Response:
    return (
        Response(status_code=204)
        if "hx-request" in request.headers
        else RedirectResponse(back, 303)
    )


def action_routes(ui: UiContext) -> list[BaseRoute]:
    async def sync(request: Request) -> Response:
        await ui.require_action(request)
        name = ui.known_app(request)
        if refused := ui.source.request_sync(name):
            raise HTTPException(409, f"app {name}: {refused}")
        return _done(request, f"/ui/apps/{name}")

    async def refresh(request: Request) -> Response:
        await ui.require_action(request)
        if refused := ui.source.request_refresh():
            raise HTTPException(409, f"refresh: {refused}")
        return _done(request, "/ui/")

    async def rollback(request: Request) -> Response:
        await ui.require_action(request)
        name = ui.known_app(request)
        to = (await ui.form_of(request)).get("to", "").strip().lower()
        if not _SHA.fullmatch(to):
            raise HTTPException(
                400, f"{request.url.path}: field 'to' must be a recorded commit SHA (7-40 hex)"
            )
        htmx = "hx-request" in request.headers
        status, error = 0, ""
        try:
            if refused := ui.source.rollback_refusal():
                raise PromoteInputError(f"app {name}: {refused}")
            done = await ui.source.rollback(name, to)
        except PromoteInputError as e:
            status, error = 409, str(e)
        except GitwardError as e:
            status, error = 502, str(e)
        context = {"name": name, "error": error, "done": None if error else done}
        if htmx:
            return ui.page(request, "part_rollback.html", context)
        return ui.page(request, "rollback.html", context, status=status or 200)

    return [
        Route("/ui/refresh", refresh, methods=["POST"], include_in_schema=False),
        Route("/ui/apps/{name}/sync", sync, methods=["POST"], include_in_schema=False),
        Route("/ui/apps/{name}/rollback", rollback, methods=["POST"], include_in_schema=False),
    ]
