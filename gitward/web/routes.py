"""The UI's routes: pages, the parts a page refreshes, live updates and actions.

Who may do what:

- Reading (every page, part and the live stream) is open when the controller
  listens on loopback, as the JSON API is; anywhere else it needs a login (a
  session cookie, see :mod:`gitward.web.sessions`) or the API's bearer token.
- Acting ("sync now", "refresh from git") always needs a login and the
  session's CSRF token, or the bearer token in a header (which no browser
  sends by itself). Without an API token nobody can log in, so no action runs.

Handlers stay thin: the controller answers (:class:`~gitward.web.protocols.UiSource`),
:mod:`gitward.web.views`, :mod:`~gitward.web.diffs` and :mod:`~gitward.web.tree`
shape the answer, and the templates lay it out.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from gitward.api.auth import bearer_matches
from gitward.api.routes import read_body
from gitward.web import cluster, live, views
from gitward.web.diffs import object_diff
from gitward.web.protocols import UiSource
from gitward.web.sessions import COOKIE, TTL_SECONDS, Session, Sessions
from gitward.web.tree import build_tree, uids

__all__ = ["UiOptions", "ui_routes"]

MAX_FORM_BYTES = 16 << 10
PARTS = ("summary", "tree", "diff", "history", "drifts", "events")
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
    #: The controller's API token; empty: nobody can log in, and no action runs.
    token: str
    #: Whether pages may be read without a login (the UI listens on loopback).
    open_reads: bool
    #: Mark the session cookie Secure even on plain HTTP (behind a TLS proxy).
    secure_cookie: bool = False


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gitward.web", "templates"),
        autoescape=True,
    )
    env.globals["icons"] = views.ICONS
    return Jinja2Templates(env=env)


def ui_routes(source: UiSource, options: UiOptions) -> list[BaseRoute]:
    """The UI's routes under ``/ui``, bound to ``source``."""
    templates = _templates()
    sessions = Sessions(options.token)

    def session_of(request: Request) -> Session | None:
        return sessions.get(request.cookies.get(COOKIE))

    def bearer(request: Request) -> bool:
        return bool(options.token) and bearer_matches(request.headers, options.token)

    def may_read(request: Request) -> bool:
        return options.open_reads or session_of(request) is not None or bearer(request)

    def require_read(request: Request) -> None:
        if not may_read(request):
            raise HTTPException(401, f"{request.url.path}: log in at /ui/login first")

    def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        session = session_of(request)
        response = templates.TemplateResponse(
            request,
            name,
            {
                "session": session,
                "csrf": session.csrf if session else "",
                "can_login": sessions.enabled,
                **context,
            },
            status_code=status,
        )
        response.headers.update(SECURITY_HEADERS)
        return response

    def unavailable_page(request: Request) -> Response | None:
        reason = source.unavailable()
        if not reason:
            return None
        return page(request, "unavailable.html", {"reason": reason}, status=503)

    def known_app(request: Request) -> str:
        name = str(request.path_params["name"])
        if name not in source.app_names():
            raise HTTPException(404, f"app {name[:100]} not found")
        return name

    async def form_of(request: Request) -> dict[str, str]:
        body = await read_body(request, limit=MAX_FORM_BYTES)
        try:
            fields = parse_qs(body.decode("utf-8"), max_num_fields=20)
        except (UnicodeDecodeError, ValueError) as e:
            raise HTTPException(400, f"{request.url.path}: malformed form: {e}") from e
        return {key: values[0] for key, values in fields.items()}

    def same_origin(request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None:
            return True
        return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"

    async def require_action(request: Request) -> None:
        """Refuse an action without a login and its CSRF token (or the bearer token)."""
        subject = f"{request.method} {request.url.path}"
        if bearer(request):
            return
        if not sessions.enabled:
            raise HTTPException(
                403, f"{subject}: actions need the controller to have an API token; none is set"
            )
        session = session_of(request)
        if session is None:
            raise HTTPException(401, f"{subject}: log in at /ui/login first")
        given = request.headers.get("x-csrf-token") or (await form_of(request)).get("csrf", "")
        if not same_origin(request) or not sessions.csrf_matches(session, given):
            raise HTTPException(403, f"{subject}: the CSRF token is missing or wrong; reload")

    # --- pages --------------------------------------------------------------------

    async def index(request: Request) -> Response:
        return RedirectResponse("/ui/", 303)

    async def apps(request: Request) -> Response:
        if not may_read(request):
            return RedirectResponse("/ui/login", 303)
        if refused := unavailable_page(request):
            return refused
        filters = views.Filters.of(request.query_params)
        names = list(source.app_names())
        summaries = [s for s in (source.app_summary(n) for n in names) if filters.keeps(s)]
        rows = views.app_rows(
            summaries,
            {str(s["name"]): source.drift_records(str(s["name"])) for s in summaries},
            revision=source.repo_revision(),
            repo_url=source.repo_url(),
        )
        template = "apps_rows.html" if request.query_params.get("part") == "rows" else "apps.html"
        return page(
            request,
            template,
            {
                "rows": rows,
                "total": len(names),
                "filters": filters,
                "sync_choices": views.SYNC_CHOICES,
                "health_choices": views.HEALTH_CHOICES,
            },
        )

    async def app_context(request: Request, name: str, part: str) -> dict[str, Any]:
        """What part ``part`` (or the whole page, ``""``) of app ``name`` shows."""
        context: dict[str, Any] = {"name": name}
        everything = part == ""
        if everything or part == "summary":
            detail = source.app_detail(name) or {}
            revision = source.repo_revision()
            sha = str(detail.get("revision") or "")
            context["app"] = detail
            context["commit"] = revision if revision is not None and revision.sha == sha else None
            context["commit_url"] = views.commit_url(source.repo_url(), sha)
        if everything or part == "drifts":
            context["drifts"] = list(source.drift_records(name))
            context["fighting"] = str(source.app_summary(name).get("fighting") or "")
        if everything or part == "diff":
            split = request.query_params.get("view") == "split"
            diffs = [object_diff(o) for o in source.objects(name)]
            context["diffs"] = sorted(diffs, key=lambda d: (d.state == "same", d.ref))
            context["split"] = split
        if everything or part in ("tree", "events"):
            objects = source.objects(name)
            namespaces = {o.ref.namespace for o in objects}
            owned, error = await cluster.list_owned(source.kube, namespaces)
            context["tree"] = build_tree(objects, owned)
            context["tree_error"] = error
            if everything or part == "events":
                events, events_error = await cluster.list_events(
                    source.kube, namespaces, uids(objects, owned)
                )
                context["events"], context["events_error"] = events, events_error
        if everything or part == "history":
            context["history"] = list(await source.history(name))
        return context

    async def app(request: Request) -> Response:
        if not may_read(request):
            return RedirectResponse("/ui/login", 303)
        if refused := unavailable_page(request):
            return refused
        name = known_app(request)
        return page(request, "app.html", await app_context(request, name, ""))

    async def app_part(request: Request) -> Response:
        require_read(request)
        if refused := unavailable_page(request):
            return refused
        name = known_app(request)
        part = str(request.path_params["part"])
        if part not in PARTS:
            raise HTTPException(404, f"part {part[:40]} unknown; use one of: {', '.join(PARTS)}")
        return page(request, f"part_{part}.html", await app_context(request, name, part))

    async def stream(request: Request) -> Response:
        require_read(request)
        name = request.query_params.get("app", "")
        if name and name not in source.app_names():
            raise HTTPException(404, f"app {name[:100]} not found")

        async def events() -> Any:
            async for chunk in live.stream(source, app=name):
                yield chunk

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    # --- logins -------------------------------------------------------------------

    async def login(request: Request) -> Response:
        if request.method == "GET":
            return page(request, "login.html", {"error": ""})
        if not same_origin(request):
            raise HTTPException(403, "POST /ui/login: cross-origin login refused")
        form = await form_of(request)
        session = sessions.login(form.get("token", ""))
        if session is None:
            # A wrong guess costs a moment, so guessing costs hours.
            await asyncio.sleep(0.5 + secrets.randbelow(100) / 1000)
            error = "That is not the API token." if sessions.enabled else "No API token is set."
            return page(request, "login.html", {"error": error}, status=401)
        response = RedirectResponse("/ui/", 303)
        response.set_cookie(
            COOKIE,
            session.id,
            max_age=TTL_SECONDS,
            path="/",
            httponly=True,
            samesite="strict",
            secure=options.secure_cookie or request.url.scheme == "https",
        )
        return response

    async def logout(request: Request) -> Response:
        await require_action(request)
        sessions.logout(request.cookies.get(COOKIE))
        response = RedirectResponse("/ui/", 303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    # --- actions ------------------------------------------------------------------

    async def sync(request: Request) -> Response:
        await require_action(request)
        name = known_app(request)
        if refused := source.request_sync(name):
            raise HTTPException(409, f"app {name}: {refused}")
        return (
            Response(status_code=204)
            if "hx-request" in request.headers
            else (RedirectResponse(f"/ui/apps/{name}", 303))
        )

    async def refresh(request: Request) -> Response:
        await require_action(request)
        if refused := source.request_refresh():
            raise HTTPException(409, f"refresh: {refused}")
        return (
            Response(status_code=204)
            if "hx-request" in request.headers
            else (RedirectResponse("/ui/", 303))
        )

    return [
        Route("/", index, include_in_schema=False),
        Route("/ui/", apps, include_in_schema=False),
        Route("/ui/login", login, methods=["GET", "POST"], include_in_schema=False),
        Route("/ui/logout", logout, methods=["POST"], include_in_schema=False),
        Route("/ui/stream", stream, include_in_schema=False),
        Route("/ui/refresh", refresh, methods=["POST"], include_in_schema=False),
        Route("/ui/apps/{name}", app, include_in_schema=False),
        Route("/ui/apps/{name}/parts/{part}", app_part, include_in_schema=False),
        Route("/ui/apps/{name}/sync", sync, methods=["POST"], include_in_schema=False),
        Mount(
            "/ui/static",
            app=StaticFiles(packages=[("gitward.web", "static")]),
            name="static",
        ),
    ]
