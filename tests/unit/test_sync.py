"""One sync on the in-memory API server: what it writes, and what it never writes."""

from __future__ import annotations

from gitward.kube import Kube
from gitward.objects import Body
from gitward.plan.inventory import Inventory
from gitward.reconcile import SyncOptions, SyncResult, sync_app
from gitward.record import apprecords
from gitward.source.revisions import Revision
from tests.unit.fakecluster import APP, configmap, manifests, run, server, writes

SETTINGS = configmap("settings", colour="blue")
EXTRA = configmap("extra", colour="green")


async def sync(kube: Kube, *bodies: Body, sha: str, dry_run: bool = False) -> SyncResult:
    return await sync_app(
        kube=kube,
        app=APP,
        manifests=manifests(*bodies),
        revision=Revision(sha=sha),
        options=SyncOptions(dry_run=dry_run),
    )


def test_a_second_sync_of_the_same_commit_sends_no_write_and_no_dry_run() -> None:
    srv = server()

    async def go(kube: Kube) -> SyncResult:
        await sync(kube, SETTINGS, EXTRA, sha="v1")
        srv.calls.clear()
        return await sync(kube, SETTINGS, EXTRA, sha="v1")

    result = run(srv, go)
    assert result.plan.in_sync
    assert not result.recorded  # nothing happened: no history entry either
    assert writes(srv.calls) == []
    assert [c for c in srv.calls if c.dry_run] == []  # the inventory's fingerprints sufficed


def test_a_dry_run_sync_writes_nothing_at_all() -> None:
    srv = server()

    async def go(kube: Kube) -> SyncResult:
        await sync(kube, SETTINGS, sha="v1")
        srv.calls.clear()
        return await sync(kube, configmap("settings", colour="red"), EXTRA, sha="v2", dry_run=True)

    result = run(srv, go)
    assert [o.action.value for o in result.plan.objects] == ["create", "update"]
    assert writes(srv.calls) == []


def test_a_sync_records_its_revision_and_the_uid_of_every_object() -> None:
    srv = server()

    async def go(kube: Kube) -> tuple[Inventory | None, list[str]]:
        await sync(kube, SETTINGS, EXTRA, sha="v1")
        inv = (await apprecords.load(kube, APP.id.key)).inventory
        records = (await apprecords.load(kube, APP.id.key)).history
        return inv, [r.revision for r in records]

    inv, revisions = run(srv, go)
    assert inv is not None and inv.revision == "v1"
    for e in inv.entries:
        stored = srv.stored("v1", "ConfigMap", e.name, "shop")
        assert stored is not None and e.uid == stored["metadata"]["uid"]
        assert e.fields and e.values and e.desired
    assert revisions == ["v1"]


def test_a_failed_sync_keeps_what_it_could_not_prune_in_the_inventory() -> None:
    srv = server()

    async def go(kube: Kube) -> Inventory | None:
        await sync(kube, SETTINGS, EXTRA, sha="v1")
        srv.refuse(lambda c: c.verb == "delete", status=500, message="etcd is sad")
        failed = await sync(kube, SETTINGS, sha="v2")
        assert not failed.succeeded
        return (await apprecords.load(kube, APP.id.key)).inventory

    inv = run(srv, go)
    assert inv is not None
    assert {e.name for e in inv.entries} == {"settings", "extra"}  # the next sync prunes it
