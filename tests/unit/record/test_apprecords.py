"""An app's inventory and history in one record; apps of an earlier gitward move over."""

from __future__ import annotations

import pytest

from gitward.errors import RecordCorrupt
from gitward.kube import Kube
from gitward.kube.fake import FakeApiServer
from gitward.objects import Body
from gitward.plan.inventory import Inventory
from gitward.reconcile import SyncResult, sync_app
from gitward.record import apprecords, history, inventory, store
from gitward.record.apprecords import AppRecords, Origin
from gitward.source.revisions import Revision
from tests.unit.fakecluster import APP, configmap, manifests, run, server, writes

SETTINGS = configmap("settings", colour="blue")
RECORDS = "gitward-system"
NEW = f"gitward-app-{APP.id.key}"
LEGACY = (f"gitward-inventory-{APP.id.key}", f"gitward-history-{APP.id.key}")


async def sync(kube: Kube, *bodies: Body, sha: str) -> SyncResult:
    return await sync_app(
        kube=kube, app=APP, manifests=manifests(*bodies), revision=Revision(sha=sha)
    )


async def as_earlier_gitward_kept_them(kube: Kube) -> None:
    """Move the app's record into the two ConfigMaps an earlier gitward wrote."""
    now = await apprecords.load(kube, APP.id.key)
    assert now.origin is Origin.MERGED and now.inventory is not None
    await store.write(
        kube,
        inventory.configmap_name(APP.id.key),
        now.inventory.to_doc(),
        labels={"gitward.io/app": APP.id.key, "gitward.io/record": "inventory"},
        stored=None,
    )
    await store.write(
        kube,
        history.configmap_name(APP.id.key),
        {"records": [r.to_doc() for r in now.history]},
        labels={"gitward.io/app": APP.id.key, "gitward.io/record": "history"},
        stored=None,
    )
    await store.delete(kube, NEW)


def names(srv: FakeApiServer) -> set[str]:
    return {n for n in (NEW, *LEGACY) if srv.stored("v1", "ConfigMap", n, RECORDS)}


def test_a_first_install_writes_its_record_twice_and_keeps_both_halves_in_it() -> None:
    srv = server()

    async def go(kube: Kube) -> AppRecords:
        await sync(kube, SETTINGS, sha="v1")
        return await apprecords.load(kube, APP.id.key)

    records = run(srv, go)
    # The pending inventory before the first object, then the outcome.
    assert [c.name for c in writes(srv.calls) if c.namespace == RECORDS] == [NEW, NEW]
    assert names(srv) == {NEW}
    assert records.inventory is not None and records.inventory.revision == "v1"
    assert [r.revision for r in records.history] == ["v1"]


def test_an_app_an_earlier_gitward_synced_moves_to_one_record_with_its_history() -> None:
    srv = server()

    async def go(kube: Kube) -> tuple[AppRecords, set[str], AppRecords]:
        await sync(kube, SETTINGS, sha="v1")
        await as_earlier_gitward_kept_them(kube)
        legacy = await apprecords.load(kube, APP.id.key)
        between = names(srv)
        await sync(kube, configmap("settings", colour="red"), sha="v2")
        return legacy, between, await apprecords.load(kube, APP.id.key)

    legacy, between, after = run(srv, go)
    assert between == set(LEGACY)
    assert legacy.origin is Origin.LEGACY and [r.revision for r in legacy.history] == ["v1"]
    assert legacy.inventory is not None and {e.name for e in legacy.inventory.entries} == {
        "settings"
    }
    # Nothing of the history is lost, and nothing of the old kind is left behind.
    assert [r.revision for r in after.history] == ["v2", "v1"]
    assert after.inventory is not None and after.inventory.revision == "v2"
    assert names(srv) == {NEW}


def test_a_no_op_sync_of_an_app_an_earlier_gitward_synced_writes_nothing() -> None:
    srv = server()

    async def go(kube: Kube) -> SyncResult:
        await sync(kube, SETTINGS, sha="v1")
        await as_earlier_gitward_kept_them(kube)
        srv.calls.clear()
        return await sync(kube, SETTINGS, sha="v1")

    result = run(srv, go)
    assert result.plan.in_sync and not result.recorded
    assert writes(srv.calls) == []
    assert names(srv) == set(LEGACY)


def test_a_corrupt_record_of_the_earlier_kind_fails_the_sync_naming_it() -> None:
    srv = server()

    async def go(kube: Kube) -> None:
        await sync(kube, SETTINGS, sha="v1")
        await as_earlier_gitward_kept_them(kube)
        res = await kube.resource_for("v1", "ConfigMap")
        assert res is not None
        broken = await kube.get(res, name=LEGACY[1], namespace=RECORDS)
        assert broken is not None
        broken["binaryData"] = {store.KEY: "bm90IGd6aXA="}  # "not gzip"
        await kube.replace(broken)
        srv.calls.clear()
        await sync(kube, configmap("settings", colour="red"), sha="v2")

    with pytest.raises(RecordCorrupt, match=f"ConfigMap/{RECORDS}/{LEGACY[1]}: not a valid"):
        run(srv, go)
    assert writes(srv.calls) == []


def test_every_inventory_is_found_once_whichever_kind_of_record_holds_it() -> None:
    srv = server()

    async def save(kube: Kube, key: str, *, legacy: bool) -> None:
        inv = Inventory(app=key, entries=(), source="s", revision="new")
        if legacy:
            labels = {"gitward.io/app": key, "gitward.io/record": "inventory"}
            doc = {**inv.to_doc(), "revision": "old"}
            await store.write(kube, inventory.configmap_name(key), doc, labels=labels, stored=None)
        else:
            records = AppRecords(app=key, inventory=inv)
            await apprecords.save(kube, records, stored=AppRecords(app=key))

    async def go(kube: Kube) -> list[Inventory]:
        await save(kube, "merged", legacy=False)
        await save(kube, "legacy", legacy=True)
        # Both: an upgrade stopped between writing the new record and deleting the old.
        await save(kube, "both", legacy=True)
        await save(kube, "both", legacy=False)
        return await apprecords.load_all_inventories(kube)

    found = run(srv, go)
    assert sorted((i.app, i.revision) for i in found) == [
        ("both", "new"),
        ("legacy", "old"),
        ("merged", "new"),
    ]
