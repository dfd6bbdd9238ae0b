"""Watches shared by every app: one per (resource, namespace), resumed, re-listed on expiry.

Drift must be seen within a second, which polling cannot do without hammering
the API server; a watch delivers each change as it happens. Each watch starts
with a LIST (so changes made while nobody watched are seen too), then follows
the resourceVersion the list returned; bookmarks keep that version fresh, an
expired version (410 Gone) re-lists, and a broken stream retries with backoff.
Anything else that ends a watch (a failing event handler) is logged and the
watch restarted by a :class:`~gitward.heal.supervise.Supervisor`, with a fresh
LIST so nothing it missed meanwhile is lost.

A kind tracked in many namespaces is watched once, cluster-wide, instead: a
thousand apps in namespaces of their own would otherwise cost a thousand LISTs
and a thousand open connections per kind. The namespaced watches stay until
the cluster-wide one has listed, so nothing is missed in between; an account
that may not list the kind cluster-wide keeps its namespaced watches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from gitward.heal.supervise import Supervisor
from gitward.kube import Forbidden, Gone, Kube, KubeError, Resource
from gitward.objects import Body

log = logging.getLogger("gitward.watches")

EventHandler = Callable[[str, Body], Awaitable[None]]


class WatchHub:
    def __init__(
        self,
        *,
        kube: Kube,
        on_event: EventHandler,
        on_restart: Callable[[str], None] = lambda _: None,
        timeout_seconds: int = 300,
        cluster_wide_after: int = 8,
    ) -> None:
        self._kube = kube
        self._on_event = on_event
        self._on_restart = on_restart
        self._timeout = timeout_seconds
        self._cluster_wide_after = cluster_wide_after
        self._supervisor = Supervisor(log=log)
        self._synced: dict[tuple[Resource, str], asyncio.Event] = {}
        self._namespaces: dict[Resource, set[str]] = {}  # every namespace asked for, by kind
        self._refused: set[Resource] = set()  # may not be watched cluster-wide

    def ensure(self, resource: Resource, namespace: str) -> asyncio.Event:
        """Watch ``resource`` in ``namespace`` (``""``: cluster-wide); set once listed."""
        if not resource.namespaced:
            namespace = ""
        wide = (resource, "")
        if namespace:
            spaces = self._namespaces.setdefault(resource, set())
            spaces.add(namespace)
            if len(spaces) >= self._cluster_wide_after and wide not in self._synced:
                self._start(wide)
        if wide in self._synced and resource not in self._refused:
            return self._synced[wide]
        key = (resource, namespace)
        if key not in self._synced:
            self._start(key)
        return self._synced[key]

    def _start(self, key: tuple[Resource, str]) -> None:
        self._synced[key] = asyncio.Event()
        self._supervisor.start(_name(*key), lambda: self._run(*key))

    @property
    def count(self) -> int:
        """Watches open (or opening)."""
        return len(self._synced)

    @property
    def down(self) -> dict[str, str]:
        """Watches that failed and wait for their restart: name to the reason."""
        return self._supervisor.down

    async def close(self) -> None:
        await self._supervisor.close()
        self._synced.clear()

    async def _run(self, resource: Resource, namespace: str) -> None:
        key = (resource, namespace)
        wide = resource.namespaced and not namespace
        version = ""
        delay = 0.5
        while True:
            try:
                if not version:
                    # Page by page: a cluster-wide list holds every object of the
                    # kind, most of them not gitward's, and only what the handler
                    # keeps of each should stay in memory.
                    # The version is kept only once every page is handled: a list cut
                    # short is listed again, not resumed by a watch that would miss
                    # the pages it never read.
                    listed = ""
                    async for page, at in self._kube.pages(resource, namespace=namespace):
                        for item in page:
                            await self._on_event("ADDED", item)
                        listed = at
                    version = listed
                    self._synced[key].set()
                    if wide:
                        self._refused.discard(resource)
                        self._stop_namespaced(resource)
                async for event in self._kube.watch(
                    resource,
                    namespace=namespace,
                    resource_version=version,
                    timeout_seconds=self._timeout,
                ):
                    version = (event.object.get("metadata") or {}).get("resourceVersion") or version
                    if event.type == "BOOKMARK":
                        continue
                    event.object.setdefault("apiVersion", resource.api_version)
                    event.object.setdefault("kind", resource.kind)
                    await self._on_event(event.type, event.object)
                delay = 0.5
            except asyncio.CancelledError:
                raise
            except Gone:
                version = ""
                self._on_restart(resource.plural)
            except Forbidden:
                self._on_restart(resource.plural)
                if not wide:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
                    continue
                # gitward may read this kind only namespace by namespace: watch it
                # so, and ask again now and then, which picks up a wider grant.
                version = ""
                self._refused.add(resource)
                for ns in sorted(self._namespaces.get(resource, ())):
                    if (resource, ns) not in self._synced:
                        self._start((resource, ns))
                await asyncio.sleep(300.0)
            except KubeError:
                self._on_restart(resource.plural)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _stop_namespaced(self, resource: Resource) -> None:
        """The cluster-wide watch of ``resource`` has listed: its namespaced ones can go."""
        for key in [k for k in self._synced if k[0] == resource and k[1]]:
            self._synced.pop(key).set()
            self._supervisor.cancel(_name(*key))


def _name(resource: Resource, namespace: str) -> str:
    return f"watch {resource.api_version} {resource.plural} in {namespace or '(all namespaces)'}"
