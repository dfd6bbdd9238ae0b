"""What the in-memory API server does beyond the contract both servers share.

These behaviours cannot be provoked on demand on a real API server (a
compacted watch history, an outage, a per-group-only server), so they are
checked here alone; everything else is in ``tests/contract``.
"""

from __future__ import annotations

import asyncio

import pytest

from gitward.kube import Gone, Kube, Unavailable
from gitward.kube.fake import FakeApiServer, SimulatedCrash
from gitward.objects import Body
from tests.unit.fakecluster import configmap, run, server


def test_a_server_without_aggregated_discovery_is_mapped_per_group_version() -> None:
    srv = FakeApiServer(aggregated=False)

    async def go(kube: Kube) -> tuple[bool, bool, bool]:
        deploy = await kube.resource_for("apps/v1", "Deployment")
        lease = await kube.resource_for("coordination.k8s.io/v1", "Lease")
        ns = await kube.resource_for("v1", "Namespace")
        return (
            deploy is not None and deploy.namespaced,
            lease is not None and lease.plural == "leases",
            ns is not None and not ns.namespaced,
        )

    assert run(srv, go) == (True, True, True)
    paths = [c.path for c in srv.calls]
    assert {"/api/v1", "/apis", "/apis/apps/v1"} <= set(paths)


def test_a_created_crd_serves_its_kind_and_is_established() -> None:
    crd: Body = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Cluster",
            "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [{"name": "v1", "served": True, "storage": True}],
        },
    }

    async def go(kube: Kube) -> tuple[Body, bool]:
        out = await kube.apply(crd)
        widget = await kube.resource_for("example.com/v1", "Widget")
        return out, widget is not None and not widget.namespaced

    out, served = run(server(), go)
    assert {"type": "Established", "status": "True"} in out["status"]["conditions"]
    assert served


def test_a_watch_from_a_compacted_version_is_gone() -> None:
    srv = server()

    async def go(kube: Kube) -> None:
        res = await kube.resource_for("v1", "ConfigMap")
        assert res is not None
        old = (await kube.apply(configmap("a", colour="blue")))["metadata"]["resourceVersion"]
        await kube.apply(configmap("a", colour="red"))
        srv.compact()
        with pytest.raises(Gone):
            async for _ in kube.watch(res, namespace="shop", resource_version=old):
                pass

    run(srv, go)


def test_a_watch_without_a_version_starts_with_every_object_as_added() -> None:
    async def go(kube: Kube) -> list[str]:
        res = await kube.resource_for("v1", "ConfigMap")
        assert res is not None
        await kube.apply(configmap("a", colour="blue"))
        await kube.apply(configmap("b", colour="blue"))
        seen = []
        async for event in kube.watch(res, namespace="shop", timeout_seconds=0):
            seen.append(f"{event.type} {event.object['metadata']['name']}")
        return seen

    assert run(server(), go) == ["ADDED a", "ADDED b"]


def test_an_unavailable_server_is_a_temporary_error() -> None:
    srv = server()
    srv.unavailable = True

    async def go(kube: Kube) -> None:
        with pytest.raises(Unavailable):
            await kube.apply(configmap("a", colour="blue"))

    run(srv, go)


def test_a_crash_after_a_write_keeps_the_write_and_a_crash_before_does_not() -> None:
    srv = server()
    srv.crash(lambda c: c.name == "kept", after=True)
    srv.crash(lambda c: c.name == "lost", after=False)

    async def go(kube: Kube) -> None:
        for name in ("kept", "lost"):
            with pytest.raises(SimulatedCrash):
                await kube.apply(configmap(name, colour="blue"))

    run(srv, go)
    assert srv.stored("v1", "ConfigMap", "kept", "shop") is not None
    assert srv.stored("v1", "ConfigMap", "lost", "shop") is None


def test_deleting_a_namespace_deletes_what_is_in_it() -> None:
    async def go(kube: Kube) -> list[Body]:
        ns = await kube.resource_for("v1", "Namespace")
        cms = await kube.resource_for("v1", "ConfigMap")
        assert ns is not None and cms is not None
        await kube.apply(configmap("a", colour="blue"))
        await kube.delete(ns, name="shop")
        return (await kube.list(cms, namespace="shop"))[0]

    assert run(server(), go) == []


def test_two_event_loops_can_share_one_server() -> None:
    # Tests drive the same server from several asyncio.run calls: nothing may bind to one loop.
    srv = server()
    run(srv, lambda kube: kube.apply(configmap("a", colour="blue")))
    got = run(srv, lambda kube: asyncio.wait_for(kube.version(), 1))
    assert got["gitVersion"] == "fake"
