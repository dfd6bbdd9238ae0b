"""A sync killed at any point leaves no orphan: the next sync prunes or adopts what it made.

The crash is simulated by the in-memory API server: the matching request is
carried out (or not) and then the "process" dies, with an exception no layer
catches, so nothing after that point in the sync runs.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gitward.kube import Kube
from gitward.kube.fake import Call, FakeApiServer, SimulatedCrash
from gitward.objects import Body
from gitward.plan.inventory import Inventory
from gitward.reconcile import SyncResult, sync_app
from gitward.record import apprecords
from gitward.source.revisions import Revision
from tests.unit.fakecluster import APP, configmap, manifests, run, server

SETTINGS = configmap("settings", colour="blue")
EXTRA = configmap("extra", colour="green")


def nth(n: int, match: Callable[[Call], bool]) -> Callable[[Call], bool]:
    """True for the ``n``-th request ``match`` accepts (1-based), and only that one."""
    seen = 0

    def check(call: Call) -> bool:
        nonlocal seen
        if not match(call):
            return False
        seen += 1
        return seen == n

    return check


def record_write(kind: str) -> Callable[[Call], bool]:
    return lambda c: c.verb == "patch" and not c.dry_run and c.name == f"gitward-{kind}-shop"


def object_write(name: str, namespace: str = "shop") -> Callable[[Call], bool]:
    return lambda c: (
        c.verb == "patch" and not c.dry_run and c.namespace == namespace and c.name == name
    )


async def sync(kube: Kube, *bodies: Body, sha: str) -> SyncResult:
    return await sync_app(
        kube=kube, app=APP, manifests=manifests(*bodies), revision=Revision(sha=sha)
    )


def crash_then_sync(
    srv: FakeApiServer, point: str, *, then: tuple[Body, ...]
) -> tuple[set[str], Inventory | None, dict[str, str]]:
    """Sync {settings}; sync {settings, extra} and die at ``crash``; sync ``then``.

    Returns the ConfigMaps left in the app's namespace, the inventory, and their uids."""

    crash, after = CRASH_POINTS[point]()

    async def go(kube: Kube) -> tuple[set[str], Inventory | None, dict[str, str]]:
        await sync(kube, SETTINGS, sha="v1")
        srv.crash(crash, after=after)
        with pytest.raises(SimulatedCrash):
            await sync(kube, SETTINGS, EXTRA, sha="v2")
        made = srv.stored("v1", "ConfigMap", "extra", "shop") is not None
        assert made is CREATED_BEFORE_CRASH[point]
        await sync(kube, *then, sha="v3")
        res = await kube.resource_for("v1", "ConfigMap")
        assert res is not None
        items, _ = await kube.list(res, namespace="shop")
        uids = {i["metadata"]["name"]: i["metadata"]["uid"] for i in items}
        return set(uids), (await apprecords.load(kube, APP.id.key)).inventory, uids

    return run(srv, go)


# Where the second sync dies (requests counted from its start), and whether the
# request itself was carried out first. Factories: the counters are per test.
CRASH_POINTS: dict[str, Callable[[], tuple[Callable[[Call], bool], bool]]] = {
    "during the pending inventory write": lambda: (nth(1, record_write("app")), False),
    "right after creating the new object": lambda: (object_write("extra"), True),
    # The final inventory and the history go out in one write.
    "before the final record write": lambda: (nth(2, record_write("app")), False),
    "after the final record write": lambda: (nth(2, record_write("app")), True),
}
# Whether "extra" exists when the sync dies there: proof the crash hit where it says.
CREATED_BEFORE_CRASH = {
    "during the pending inventory write": False,
    "right after creating the new object": True,
    "before the final record write": True,
    "after the final record write": True,
}


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_the_next_sync_prunes_what_a_killed_sync_created_once_git_drops_it(point: str) -> None:
    left, inventory, _ = crash_then_sync(server(), point, then=(SETTINGS,))
    assert left == {"settings"}
    assert inventory is not None
    assert {e.name for e in inventory.entries} == {"settings"}


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_the_next_sync_adopts_what_a_killed_sync_created_when_git_still_has_it(point: str) -> None:
    left, inventory, uids = crash_then_sync(server(), point, then=(SETTINGS, EXTRA))
    assert left == {"settings", "extra"}
    assert inventory is not None
    assert {e.name: e.uid for e in inventory.entries} == uids


def test_a_killed_sync_leaves_the_new_object_in_the_pending_inventory() -> None:
    srv = server()

    async def go(kube: Kube) -> Inventory | None:
        await sync(kube, SETTINGS, sha="v1")
        srv.crash(object_write("extra"), after=True)
        with pytest.raises(SimulatedCrash):
            await sync(kube, SETTINGS, EXTRA, sha="v2")
        return (await apprecords.load(kube, APP.id.key)).inventory

    inventory = run(srv, go)
    assert inventory is not None
    # Listed before it was written, so prune can find it; no uid yet, since none was known.
    assert {e.name: bool(e.uid) for e in inventory.entries} == {"settings": True, "extra": False}
    assert srv.stored("v1", "ConfigMap", "extra", "shop") is not None


# A first install's object of a namespace the next sync reads nothing in: found by
# its tracking annotation only if a plan still lists there, so only an inventory leads to it.
ELSEWHERE = {**EXTRA, "metadata": {**EXTRA["metadata"], "namespace": "default"}}


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_a_first_install_killed_anywhere_leaves_nothing_the_next_sync_cannot_prune(
    point: str,
) -> None:
    srv = server()
    crash, after = CRASH_POINTS[point]()
    if point == "right after creating the new object":
        crash = object_write("extra", "default")

    async def go(kube: Kube) -> tuple[set[tuple[str, str]], Inventory | None]:
        srv.crash(crash, after=after)
        with pytest.raises(SimulatedCrash):
            await sync(kube, SETTINGS, ELSEWHERE, sha="v1")
        made = srv.stored("v1", "ConfigMap", "extra", "default") is not None
        assert made is CREATED_BEFORE_CRASH[point]
        # Git dropped "extra" meanwhile: only an inventory can lead the next sync to it.
        await sync(kube, SETTINGS, sha="v2")
        res = await kube.resource_for("v1", "ConfigMap")
        assert res is not None
        left = {
            (i["metadata"]["namespace"], i["metadata"]["name"])
            for ns in ("shop", "default")
            for i in (await kube.list(res, namespace=ns))[0]
        }
        return left, (await apprecords.load(kube, APP.id.key)).inventory

    left, inventory = run(srv, go)
    assert left == {("shop", "settings")}
    assert inventory is not None
    assert {e.name for e in inventory.entries} == {"settings"}
