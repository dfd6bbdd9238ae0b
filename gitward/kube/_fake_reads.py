"""Reads of the in-memory API server (:mod:`gitward.kube.fake`): get, list and watch.

A list pages with ``limit``/``continue`` and carries the server's current
``resourceVersion``; a watch replays the store's event history after the
version it is given (or lists first, as ADDED events, when given none) and
answers 410 Gone for a version older than the last compaction.
"""

from __future__ import annotations

import asyncio
import bisect
import json
from collections.abc import AsyncIterator

import httpx

from gitward.kube._fake_http import not_found, selected, watch_line
from gitward.kube._fake_store import Event, Store
from gitward.kube.discovery import Resource
from gitward.objects import Body


def get_one(store: Store, res: Resource, namespace: str, name: str) -> httpx.Response:
    found = store.get(res, namespace, name)
    if found is None:
        return not_found(res, name)
    return httpx.Response(200, json=found)


def list_page(
    store: Store, res: Resource, namespace: str, params: dict[str, str]
) -> httpx.Response:
    selector = params.get("labelSelector", "")
    items = [
        {k: v for k, v in o.items() if k not in ("apiVersion", "kind")}
        for o in store.select(res, namespace, selector)
    ]
    start = int(params.get("continue") or 0)
    limit = int(params.get("limit") or 0) or len(items) or 1
    page = items[start : start + limit]
    more = start + limit < len(items)
    return httpx.Response(
        200,
        json={
            "kind": f"{res.kind}List",
            "apiVersion": res.api_version,
            "metadata": {
                "resourceVersion": str(store.rv),
                **({"continue": str(start + limit)} if more else {}),
            },
            "items": page,
        },
    )


def watch(store: Store, res: Resource, namespace: str, params: dict[str, str]) -> httpx.Response:
    since = params.get("resourceVersion", "")
    selector = params.get("labelSelector", "")
    timeout = float(params.get("timeoutSeconds") or 300)
    if since and since != "0" and int(since) < store.compacted:
        gone = {
            "type": "ERROR",
            "object": {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "Expired",
                "code": 410,
                "message": f"too old resource version: {since} ({store.compacted})",
            },
        }
        return httpx.Response(200, content=json.dumps(gone).encode() + b"\n")
    initial: list[Body] = []
    if not since or since == "0":
        initial = store.select(res, namespace, selector)
    after = int(since) if since and since != "0" else store.rv

    def wanted(e: Event) -> bool:
        meta = e.object.get("metadata") or {}
        return (
            e.rv > after
            and (e.resource.group, e.resource.plural) == (res.group, res.plural)
            and (not namespace or meta.get("namespace") == namespace)
            and selected(e.object, selector)
        )

    async def stream() -> AsyncIterator[bytes]:
        for o in initial:
            yield watch_line("ADDED", o)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = after
        while loop.time() < deadline:
            # Events are kept in version order: start after the last one seen, rather
            # than walk every event every 5 ms (a bench's history holds 100,000).
            start = bisect.bisect_right(store.events, seen, key=lambda e: e.rv)
            for e in store.events[start:]:
                seen = e.rv
                if wanted(e):
                    yield watch_line(e.type, e.object)
            # Polling keeps the fake free of any one event loop (tests may run several).
            await asyncio.sleep(0.005)

    return httpx.Response(200, content=stream())


__all__ = ["get_one", "list_page", "watch"]
