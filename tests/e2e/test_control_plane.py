"""The local control plane is real: scheduler, controller-manager and kwok all do their jobs."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Cluster


def deployment(name: str, namespace: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "example.com/app:1"}]},
            },
        },
    }


def test_deployment_pods_are_scheduled_on_kwok_nodes_and_become_ready(
    cluster: Cluster, namespace: str
) -> None:
    cluster.apply(deployment("web", namespace, 3))

    def ready() -> bool:
        d = cluster.get("apps/v1", "Deployment", "web", namespace) or {}
        return (d.get("status") or {}).get("readyReplicas") == 3

    cluster.wait_for(ready, timeout=90, what="3 ready replicas")
    pods = cluster.list("v1", "Pod", namespace)
    running = [p for p in pods if p["status"].get("phase") == "Running"]
    assert len(running) == 3
    nodes = {n["metadata"]["name"]: n for n in cluster.list("v1", "Node")}
    for pod in running:
        node = nodes[pod["spec"]["nodeName"]]
        assert node["metadata"]["annotations"].get("kwok.x-k8s.io/node") == "fake"
    # The ReplicaSet exists only because kube-controller-manager made it.
    assert len(cluster.list("apps/v1", "ReplicaSet", namespace)) == 1


def test_second_server_side_apply_of_same_object_leaves_resource_version_unchanged(
    cluster: Cluster, namespace: str
) -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": namespace},
        "data": {"colour": "blue"},
    }
    first = cluster.apply(cm)
    second = cluster.apply(cm)
    assert first["metadata"]["resourceVersion"] == second["metadata"]["resourceVersion"]
    changed = cluster.apply({**cm, "data": {"colour": "red"}})
    assert changed["metadata"]["resourceVersion"] != first["metadata"]["resourceVersion"]


def test_aggregated_discovery_maps_the_same_kinds_as_per_group_discovery_in_two_requests(
    cluster: Cluster,
) -> None:
    from gitward.kube import Kube

    async def go(kube: Kube) -> tuple[set[tuple[str, str, str, str, bool]], ...]:
        fast = await kube.discover()
        requests = kube.stats.by_verb["discovery"]
        slow = await kube._discover_per_group()
        assert requests == 2
        return tuple(
            {(r.group, r.version, r.kind, r.plural, r.namespaced) for r in m._versioned.values()}
            for m in (fast, slow)
        )

    fast, slow = cluster.call(go)
    assert fast == slow
    assert ("apps", "v1", "Deployment", "deployments", True) in fast


def test_a_watch_carries_an_object_larger_than_a_line_buffer(
    cluster: Cluster, namespace: str
) -> None:
    from gitward.kube import Kube

    # 200 KiB in one watch event: well past the 64 KiB an HTTP library's
    # line reader accepts by default.
    payload = "x" * 200_000

    async def go(kube: Kube) -> tuple[str, int]:
        res = await kube.resource_for("v1", "ConfigMap")
        assert res is not None
        await kube.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "big", "namespace": namespace},
                "data": {"blob": payload},
            }
        )
        async for event in kube.watch(res, namespace=namespace, timeout_seconds=5):
            if event.object["metadata"]["name"] == "big":
                return event.type, len(event.object["data"]["blob"])
        raise AssertionError("the watch ended without the ConfigMap")

    assert cluster.call(go) == ("ADDED", len(payload))


def test_a_list_of_more_than_a_page_comes_in_pages_of_one_version(
    cluster: Cluster, namespace: str
) -> None:
    import asyncio

    from gitward.kube import Kube

    names = {f"cm-{i}" for i in range(520)}

    async def go(kube: Kube) -> tuple[list[int], set[str], set[str]]:
        res = await kube.resource_for("v1", "ConfigMap")
        assert res is not None
        limit = asyncio.Semaphore(16)

        async def make(name: str) -> None:
            async with limit:
                await kube.apply(
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": name, "namespace": namespace},
                    }
                )

        await asyncio.gather(*(make(n) for n in names))
        sizes: list[int] = []
        versions: set[str] = set()
        seen: set[str] = set()
        async for page, version in kube.pages(res, namespace=namespace):
            sizes.append(len(page))
            versions.add(version)
            seen.update(str(o["metadata"]["name"]) for o in page)
        return sizes, versions, seen

    sizes, versions, seen = cluster.call(go)
    assert len(sizes) == 2 and max(sizes) == 500, sizes
    assert len(versions) == 1 and "" not in versions
    assert names <= seen
