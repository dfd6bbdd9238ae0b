"""A fake API server that serves only ConfigMaps: its discovery answers, and a
client of it for one test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

from gitward.kube import Kube, KubeConfig

T = TypeVar("T")


def discovery(request: httpx.Request, *, verbs: list[str]) -> httpx.Response | None:
    """The answer to a discovery request (``/api``, ``/apis``); ``None`` for any other."""
    if request.url.path == "/apis":
        return httpx.Response(200, json={"kind": "APIGroupDiscoveryList", "items": []})
    if request.url.path != "/api":
        return None
    configmaps = {
        "resource": "configmaps",
        "responseKind": {"kind": "ConfigMap"},
        "scope": "Namespaced",
        "verbs": verbs,
    }
    group = {"metadata": {"name": ""}, "versions": [{"version": "v1", "resources": [configmaps]}]}
    return httpx.Response(200, json={"kind": "APIGroupDiscoveryList", "items": [group]})


def run(server: Callable[[httpx.Request], httpx.Response], go: Callable[[Kube], Awaitable[T]]) -> T:
    """``go`` with a client of ``server``, closed after."""

    async def main() -> T:
        kube = Kube(KubeConfig(server="https://fake"), transport=httpx.MockTransport(server))
        try:
            return await go(kube)
        finally:
            await kube.aclose()

    return asyncio.run(main())
