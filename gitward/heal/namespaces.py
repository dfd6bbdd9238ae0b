"""Which namespaces exist, kept current by one watch, so plans need not ask.

Every plan checks the namespaces its app uses: whether they exist (to create
them, or to refuse objects bound for a missing one) and whether they are
Terminating. A batch of apps shares one LIST of them, but one listed a moment
ago may miss a namespace created since, so each plan read its missing ones
again: on a cold start, where every app's namespace is new, one GET per app.
A watch of Namespaces answers instead, current to within the watch's delay.

The namespaces the controller's own syncs create are added as soon as the
sync that applied them ends, before its watch event arrives: an app sharing
the namespace and planned right after must see it, or it would skip reading
the objects in it.

A controller that may not watch Namespaces cluster-wide plans as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from gitward.kube import Gone, Kube, KubeError, Resource
from gitward.objects import Body
from gitward.plan.model import Action, Plan
from gitward.plan.namespaces import WatchedNamespaces, is_terminating

log = logging.getLogger("gitward.controller")


class NamespaceWatch:
    """:attr:`current`: the namespaces, once the watch has listed them; ``None`` before."""

    def __init__(self, *, kube: Kube, timeout_seconds: int = 300) -> None:
        self._kube = kube
        self._timeout = timeout_seconds
        self._known = WatchedNamespaces()
        self._listed = False
        self._first_list = asyncio.Event()  # set once the watch listed, or gave up
        self._task: asyncio.Task[None] | None = None

    @property
    def current(self) -> WatchedNamespaces | None:
        return self._known if self._listed else None

    async def listed(self, timeout: float = 5.0) -> WatchedNamespaces | None:
        """:attr:`current`, waiting up to ``timeout`` for the watch's first LIST."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_list.wait(), timeout=timeout)
        return self.current

    def open(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        task, self._task = self._task, None
        self._listed = self._known.current = False
        self._first_list.clear()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def created(self, plan: Plan) -> None:
        """The namespaces ``plan`` created exist now, whatever the watch has said yet."""
        for o in plan.objects:
            if o.ref.kind == "Namespace" and not o.ref.group and o.action is Action.CREATE:
                self._known.setdefault(o.ref.name, False)

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                res = await self._kube.resource_for("v1", "Namespace")
                if res is None:
                    self._first_list.set()
                    return
                version = await self._list(res)
                async for event in self._kube.watch(
                    res, resource_version=version, timeout_seconds=self._timeout
                ):
                    version = event.object.get("metadata", {}).get("resourceVersion") or version
                    if event.type != "BOOKMARK":
                        self._saw(event.type, event.object)
                delay = 0.5
            except asyncio.CancelledError:
                raise
            except Gone:
                continue  # listed afresh, at once
            except KubeError as e:
                # Until it lists again, plans read what they miss, as without a watch.
                self._listed = self._known.current = False
                self._first_list.set()  # nobody waits for a watch that cannot list
                log.info("namespace watch: %s; retrying in %.1fs", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    async def _list(self, res: Resource) -> str:
        items, version = await self._kube.list(res)
        # Replaced whole: a namespace deleted while nobody watched goes too.
        fresh = {str(n["metadata"]["name"]): is_terminating(n) for n in items}
        self._known.clear()
        self._known.update(fresh)
        self._listed = self._known.current = True
        self._first_list.set()
        return version

    def _saw(self, kind: str, body: Body) -> None:
        name = str((body.get("metadata") or {}).get("name", ""))
        if not name:
            return
        if kind == "DELETED":
            self._known.pop(name, None)
        else:
            self._known[name] = is_terminating(body)


__all__ = ["NamespaceWatch"]
