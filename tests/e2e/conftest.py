"""The real control plane for e2e tests: started once per session, or reused.

A cluster already running from ``gitward dev up`` is reused and left running;
one this session started is stopped at its end. Each test gets a namespace of
its own, removed afterwards.

A cluster the session starts keeps an audit log of writes (reads, watches and
Lease renewals left out, to keep it small): the sharding tests read who wrote
what from it.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from gitward.dev import cluster as devcluster
from gitward.dev import forge as devforge
from gitward.kube import Kube, load_kubeconfig
from gitward.objects import Body
from gitward.record import apprecords
from tests.e2e.forgekit import Forge

T = TypeVar("T")

AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    verbs: [get, list, watch]
  - level: None
    resources: [{group: coordination.k8s.io}]
  - level: Metadata
"""


def run(coro: Awaitable[T]) -> T:
    async def wrap() -> T:
        return await coro

    return asyncio.run(wrap())


class Cluster:
    """Synchronous helpers over the async client, one connection per call."""

    def __init__(self, dev: devcluster.DevCluster) -> None:
        self.dev = dev
        self.config = load_kubeconfig(Path(dev.kubeconfig))

    def call(self, fn: Callable[[Kube], Awaitable[T]]) -> T:
        async def go() -> T:
            async with Kube(self.config) as kube:
                return await fn(kube)

        return asyncio.run(go())

    def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> Body | None:
        async def go(kube: Kube) -> Body | None:
            res = await kube.resource_for(api_version, kind)
            assert res is not None, f"no {kind} in {api_version}"
            return await kube.get(res, name=name, namespace=namespace)

        return self.call(go)

    def list(self, api_version: str, kind: str, namespace: str = "") -> list[Body]:
        async def go(kube: Kube) -> list[Body]:
            res = await kube.resource_for(api_version, kind)
            assert res is not None
            return (await kube.list(res, namespace=namespace))[0]

        return self.call(go)

    def apply(self, body: Body, **kw: Any) -> Body:
        return self.call(lambda kube: kube.apply(body, **kw))

    def delete(self, api_version: str, kind: str, name: str, namespace: str = "") -> bool:
        async def go(kube: Kube) -> bool:
            res = await kube.resource_for(api_version, kind)
            assert res is not None
            return await kube.delete(res, name=name, namespace=namespace)

        return self.call(go)

    def records(self, key: str) -> builtins.list[str]:
        """Which halves of app ``key``'s record (``inventory``, ``history``) the cluster holds."""
        held = self.call(lambda kube: apprecords.load(kube, key))
        return [
            half
            for half, there in (("inventory", held.inventory), ("history", held.history))
            if there
        ]

    def inventory(self, key: str) -> str:
        """App ``key``'s inventory as JSON; ``absent`` when it has none."""
        held = self.call(lambda kube: apprecords.load(kube, key)).inventory
        return "absent" if held is None else json.dumps(held.to_doc(), sort_keys=True)

    def forget_apps(self, *apps: str) -> None:
        """Delete the records gitward keeps for ``apps``."""
        for app in apps:
            for name in apprecords.names(app):
                self.delete("v1", "ConfigMap", name, "gitward-system")

    def wait_for(
        self, check: Callable[[], T], *, timeout: float = 60.0, what: str = "condition"
    ) -> T:
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.25)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    policy = tmp_path_factory.mktemp("audit") / "policy.yaml"
    policy.write_text(AUDIT_POLICY)
    result = devcluster.up(audit_policy=policy)
    os.environ["KUBECONFIG"] = result.cluster.kubeconfig
    os.environ["GITWARD_REGISTRY"] = result.cluster.registry
    try:
        yield Cluster(result.cluster)
    finally:
        if not result.already_running:
            devcluster.down()


@pytest.fixture(scope="session")
def forge(cluster: Cluster) -> Iterator[Forge]:
    """The dev forge beside the session's cluster: reused if it runs, else started and stopped."""
    running, started = devforge.ensure()
    try:
        yield Forge(running)
    finally:
        if started:
            devforge.stop()


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    cluster.delete("v1", "Namespace", name)


@pytest.fixture(scope="session")
def oci_charts(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The example charts pushed to the dev registry; returns the ``oci://`` repository."""
    from tests.e2e.helpers import EXAMPLE_CHARTS, helm, package_chart

    out = tmp_path_factory.mktemp("charts")
    repo = f"oci://{cluster.dev.registry}/e2e"
    for chart, version in (("web", "0.1.0"), ("web", "0.2.0"), ("worker", "0.1.0")):
        tgz = package_chart(EXAMPLE_CHARTS / chart, version, out)
        helm("push", str(tgz), repo, "--plain-http")
    return repo


@pytest.fixture
def app_name(namespace: str, cluster: Cluster) -> Iterator[str]:
    """An app named after the test's namespace; its records are removed afterwards."""
    yield namespace
    cluster.forget_apps(namespace)
