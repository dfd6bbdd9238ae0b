"""The watch hub: a kind tracked in many namespaces is watched once, cluster-wide."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from gitward.heal.watches import WatchHub
from gitward.kube import Kube
from gitward.objects import Body
from tests.unit.fakecluster import server


async def until(check: Callable[[], object], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.005)


def config_map(ns: str, value: str) -> Body:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": ns},
        "data": {"v": value},
    }


def test_a_kind_in_many_namespaces_is_watched_cluster_wide_and_misses_no_change() -> None:
    spaces = [f"ns{i}" for i in range(4)]
    srv = server(*spaces)
    seen: list[tuple[str, str, str]] = []

    async def on_event(kind: str, body: Body) -> None:
        seen.append((kind, body["metadata"]["namespace"], (body.get("data") or {}).get("v", "")))

    async def main() -> None:
        async with srv.kube() as kube, srv.kube() as hand:
            res = await kube.resource_for("v1", "ConfigMap")
            assert res is not None
            hub = WatchHub(kube=kube, on_event=on_event, cluster_wide_after=3)
            try:
                for ns in spaces[:3]:
                    hub.ensure(res, ns)
                # One watch of all namespaces, and the namespaced ones are gone.
                await until(lambda: any(c.verb == "watch" and c.namespace == "" for c in srv.calls))
                assert hub.count == 1
                # A namespace asked for later needs no watch of its own.
                hub.ensure(res, spaces[3])
                assert hub.count == 1
                for ns in (spaces[0], spaces[3]):
                    await hand.apply(config_map(ns, "changed"), field_manager="someone")
                await until(
                    lambda: {("ADDED", "ns0", "changed"), ("ADDED", "ns3", "changed")} <= set(seen)
                )
            finally:
                await hub.close()

    asyncio.run(main())


def test_a_kind_in_few_namespaces_keeps_its_namespaced_watches() -> None:
    srv = server("a", "b")
    seen: list[Body] = []

    async def on_event(kind: str, body: Body) -> None:
        seen.append(body)

    async def main() -> None:
        async with srv.kube() as kube:
            k: Kube = kube
            res = await k.resource_for("v1", "ConfigMap")
            assert res is not None
            hub = WatchHub(kube=k, on_event=on_event, cluster_wide_after=3)
            try:
                for ns in ("a", "b"):
                    hub.ensure(res, ns)
                await until(lambda: sum(c.verb == "watch" for c in srv.calls) == 2)
                assert hub.count == 2
                assert {c.namespace for c in srv.calls if c.verb == "watch"} == {"a", "b"}
            finally:
                await hub.close()

    asyncio.run(main())


def test_a_first_list_of_many_pages_is_handed_over_a_page_at_a_time_and_misses_no_change() -> None:
    srv = server("a")
    names = [f"cm-{i:04d}" for i in range(1_101)]
    seen: list[tuple[str, str]] = []
    lists_when_seen: list[int] = []

    def lists() -> int:
        return sum(c.verb == "list" and c.kind == "ConfigMap" for c in srv.calls)

    async def on_event(kind: str, body: Body) -> None:
        seen.append((kind, body["metadata"]["name"]))
        lists_when_seen.append(lists())

    async def main() -> None:
        async with srv.kube() as kube:
            for name in names:
                await kube.apply(
                    {**config_map("a", "v0"), "metadata": {"name": name, "namespace": "a"}}
                )
            res = await kube.resource_for("v1", "ConfigMap")
            assert res is not None
            hub = WatchHub(kube=kube, on_event=on_event, cluster_wide_after=3)
            try:
                synced = hub.ensure(res, "a")
                async with asyncio.timeout(5):
                    await synced.wait()
                changed = {
                    **config_map("a", "v1"),
                    "metadata": {"name": names[0], "namespace": "a"},
                }
                await kube.apply(changed)
                await until(lambda: ("MODIFIED", names[0]) in seen)
            finally:
                await hub.close()

    asyncio.run(main())
    # Three pages of at most 500, each handed over before the next was asked for.
    assert lists() == 3
    assert lists_when_seen[:500] == [1] * 500
    assert lists_when_seen[500:1000] == [2] * 500
    # Every object once, and the change made after the list, not a replay of it.
    assert sorted(n for k, n in seen if k == "ADDED") == names
    assert [e for e in seen if e[0] != "ADDED"] == [("MODIFIED", names[0])]
