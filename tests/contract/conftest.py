"""One ``api`` fixture, two backends: the in-memory fake and the dev cluster's API server.

Every contract test runs on both; a case that passes on the real server and
fails on the fake is a bug in the fake (or a behaviour its docstring should
list as unsupported).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import pytest

from gitward.kube import Kube
from gitward.kube.fake import FakeApiServer
from tests.e2e.conftest import Cluster, cluster

__all__ = ["cluster"]  # the e2e session fixture, for the real backend

T = TypeVar("T")


@dataclass(frozen=True)
class Api:
    """A backend and a namespace of this test's own."""

    backend: str
    namespace: str
    connect: Callable[[], Kube]

    def run(self, fn: Callable[[Kube], Awaitable[T]]) -> T:
        async def go() -> T:
            async with self.connect() as kube:
                return await fn(kube)

        return asyncio.run(go())


@pytest.fixture(params=["fake", "real"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    namespace = f"c-{uuid.uuid4().hex[:8]}"
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    if request.param == "fake":
        server = FakeApiServer(namespaces=("default", namespace))
        yield Api("fake", namespace, server.kube)
        return
    real: Cluster = request.getfixturevalue("cluster")
    real.apply(ns)
    try:
        yield Api("real", namespace, lambda: Kube(real.config))
    finally:
        real.delete("v1", "Namespace", namespace)
