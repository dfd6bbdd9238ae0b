"""The UI's routes: pages, the parts a page refreshes, and live updates; then logins and actions.

Who may read and act is :mod:`gitward.web.context`'s; logging in is
:mod:`gitward.web.logins`'s and the actions are :mod:`gitward.web.actions`'s.

Handlers stay thin: the controller answers (:class:`~gitward.web.protocols.UiSource`),
:mod:`gitward.web.views`, :mod:`~gitward.web.diffs` and :mod:`~gitward.web.tree`
shape the answer, and the templates lay it out.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gitward.health import assess
from gitward.web import cluster, live, views
from gitward.web.actions import action_routes
from gitward.web.context import UiContext, UiOptions
from gitward.web.diffs import DiffCache, ObjectDiff
from gitward.web.fragments import Fragments
from gitward.web.logins import login_routes
from gitward.web.memo import ByBody
from gitward.web.protocols import UiSource
from gitward.web.tree import Node, build_tree, uids

__all__ = ["UiOptions", "ui_routes"]

PARTS = ("summary", "tree", "diff", "history", "drifts", "events")


def ui_routes(source: UiSource, options: UiOptions) -> list[BaseRoute]:
    """The UI's routes under ``/ui``, bound to ``source``."""
    ui = UiContext(source, options)
    page, may_read, require_read = ui.page, ui.may_read, ui.require_read
    unavailable_page, known_app = ui.unavailable_page, ui.known_app
    diff_cache = DiffCache()
    app_rows = Fragments(ui.templates.env.get_template("apps_row.html"))

    tree_nodes = Fragments(ui.templates.env.get_template("tree_node.html"))
    # Keyed by the diff itself: few, so that old diffs are not kept for long.
    diff_objects = Fragments(ui.templates.env.get_template("diff_object.html"), max_entries=2000)
    health_of = ByBody(assess)

    def row_html(row: views.AppRow) -> Markup:
        return app_rows.render(row.key, row=row)

    def node_html(node: Node) -> Markup:
        return tree_nodes.render(node, n=node)

    def diff_html(diff: ObjectDiff, split: bool) -> Markup:
        return diff_objects.render((diff, split), d=diff, split=split)

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
                "row_html": row_html,
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
            diffs = [diff_cache.of(o) for o in source.objects(name)]
            context["diffs"] = sorted(diffs, key=lambda d: (d.state == "same", d.ref))
            context["split"] = split
            context["diff_html"] = diff_html
        if everything or part in ("tree", "events"):
            objects = source.objects(name)
            namespaces = {o.ref.namespace for o in objects}
            owned, error = await cluster.list_owned(source.kube, namespaces)
            context["tree"] = build_tree(objects, owned, health_of=health_of)
            context["node_html"] = node_html
            context["tree_error"] = error
            if everything or part == "events":
                events, events_error = await cluster.list_events(
                    source.kube, namespaces, uids(objects, owned)
                )
                context["events"], context["events_error"] = events, events_error
        if everything or part == "history":
            history = list(await source.history(name))
            context["history"] = history
            context["rollback_to"] = views.rollback_targets(history)
            context["rollback_refusal"] = source.rollback_refusal()
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

        drifts_part = ui.templates.env.get_template("part_drifts.html")

        def drifts_html(app: str) -> str:
            fighting = str(source.app_summary(app).get("fighting") or "")
            return drifts_part.render(drifts=list(source.drift_records(app)), fighting=fighting)

        async def events() -> Any:
            async for chunk in live.stream(
                source, app=name, drifts_html=drifts_html if name else None
            ):
                yield chunk

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    return [
        Route("/", index, include_in_schema=False),
        Route("/ui/", apps, include_in_schema=False),
        Route("/ui/stream", stream, include_in_schema=False),
        Route("/ui/apps/{name}", app, include_in_schema=False),
        Route("/ui/apps/{name}/parts/{part}", app_part, include_in_schema=False),
        *login_routes(ui),
        *action_routes(ui),
        Mount(
            "/ui/static",
            app=StaticFiles(packages=[("gitward.web", "static")]),
            name="static",
        ),
    ]
