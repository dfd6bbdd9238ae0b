"""Watches shared by every app: one per (resource, namespace), resumed, re-listed on expiry.

Drift must be seen within a second, which polling cannot do without hammering
the API server; a watch delivers each change as it happens. Each watch starts
with a LIST (so changes made while nobody watched are seen too), then follows
the resourceVersion the list returned; bookmarks keep that version fresh, an
expired version (410 Gone) re-lists, and a broken stream retries with backoff.
Anything else that ends a watch (a failing event handler) is logged and the
watch restarted by a :class:`~gitward.heal.supervise.Supervisor`, with a fresh
LIST so nothing it missed meanwhile is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from gitward.heal.supervise import Supervisor
from gitward.kube import Gone, Kube, KubeError, Resource
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
    ) -> None:
        self._kube = kube
        self._on_event = on_event
        self._on_restart = on_restart
        self._timeout = timeout_seconds
        self._supervisor = Supervisor(log=log)
        self._synced: dict[tuple[Resource, str], asyncio.Event] = {}

    def ensure(self, resource: Resource, namespace: str) -> asyncio.Event:
        """Watch ``resource`` in ``namespace`` (``""``: cluster-wide); set once listed."""
        key = (resource, namespace if resource.namespaced else "")
        if key not in self._synced:
            self._synced[key] = asyncio.Event()
            where = key[1] or "(all namespaces)"
            name = f"watch {resource.api_version} {resource.plural} in {where}"
            self._supervisor.start(name, lambda: self._run(*key))
        return self._synced[key]

    @property
    def count(self) -> int:
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
        version = ""
        delay = 0.5
        while True:
            try:
                if not version:
                    items, version = await self._kube.list(resource, namespace=namespace)
                    for item in items:
                        await self._on_event("ADDED", item)
                    self._synced[key].set()
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
            except KubeError:
                self._on_restart(resource.plural)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
