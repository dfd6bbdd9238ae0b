"""The controller's view of which namespaces exist, kept by one watch."""

from __future__ import annotations

import asyncio

from gitward.heal.namespaces import NamespaceWatch
from gitward.kube import Kube
from gitward.plan.model import Action, Plan
from gitward.plan.namespaces import create_namespace, read_namespaces
from tests.unit.fakecluster import run, server
from tests.unit.heal.test_controller_drift import until


def test_namespaces_made_and_deleted_elsewhere_are_seen_without_reading_them() -> None:
    srv = server("team-a")

    async def main(kube: Kube) -> None:
        watch = NamespaceWatch(kube=kube)
        watch.open()
        try:
            known = await watch.listed()
            assert known is not None and "team-a" in known
            ns = await kube.resource_for("v1", "Namespace")
            assert ns is not None
            await kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "new"}})
            await until(lambda: "new" in known, what="the new namespace seen")
            await kube.delete(ns, name="team-a")
            await until(lambda: "team-a" not in known, what="the deletion seen")
            srv.calls.clear()
            exist, terminating = await read_namespaces(kube, {"new", "team-a", "gone"}, known)
            assert (exist, terminating) == ({"new"}, set())
            # Watched: a namespace missing from the map is not read by name.
            assert not [c for c in srv.calls if c.kind == "Namespace"]
        finally:
            await watch.close()
        # Closed, the map no longer stands for the cluster: misses are read again.
        srv.calls.clear()
        await read_namespaces(kube, {"gone"}, known)
        assert [(c.verb, c.name) for c in srv.calls] == [("get", "gone")]

    run(srv, main)


def test_a_namespace_a_sync_created_counts_before_its_watch_event() -> None:
    srv = server()

    async def main(kube: Kube) -> None:
        watch = NamespaceWatch(kube=kube)
        watch.open()
        try:
            known = await watch.listed()
            assert known is not None
            made = create_namespace("shop-2")
            assert made.action is Action.CREATE
            watch.created(Plan(app="shop", objects=(made,)))
            assert known.get("shop-2") is False
        finally:
            await watch.close()

    run(srv, main)


def test_listed_waits_for_the_first_list_and_is_none_for_a_watch_never_opened() -> None:
    srv = server()

    async def main(kube: Kube) -> None:
        watch = NamespaceWatch(kube=kube)
        assert await watch.listed(timeout=0.05) is None  # never opened
        watch.open()
        try:
            assert await asyncio.wait_for(watch.listed(), timeout=5) is not None
        finally:
            await watch.close()

    run(srv, main)
