"""Reading records back: anything that is not a record gitward wrote is RecordCorrupt."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import gzip
import json
from typing import Any

import pytest

from gitward.errors import GitwardError, RecordCorrupt
from gitward.kube import Kube
from gitward.kube.fake import FakeApiServer
from gitward.plan.inventory import Inventory, InventoryEntry
from gitward.record import apprecords, history, inventory, store
from gitward.record.apprecords import AppRecords
from gitward.record.history import ObjectAction, SyncOutcome, SyncRecord

INVENTORY = Inventory(
    app="shop",
    revision="a" * 40,
    entries=(InventoryEntry("apps", "Deployment", "shop", "web", "v1", uid="u-1"),),
)
RECORD = SyncRecord(
    app="shop",
    revision="a" * 40,
    ref="refs/heads/main",
    author="Ann",
    subject="ship it",
    started_at="2026-12-02T08:00:00+00:00",
    duration_seconds=1.5,
    result=SyncOutcome.SUCCEEDED,
    charts=("web@0.1.0",),
    counts={"created": 1},
    actions=(ObjectAction("Deployment/shop/web", "created"),),
)


def configmap(data: Any, name: str = "gitward-inventory-shop") -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"namespace": "gitward-system", "name": name}}
    if data is not None:
        body["binaryData"] = {store.KEY: data}
    return body


def packed(raw: bytes) -> str:
    return base64.b64encode(gzip.compress(raw)).decode()


def test_a_record_gitward_wrote_reads_back_unchanged() -> None:
    doc = store.decode_record(configmap(store.encode(INVENTORY.to_doc())), kind=inventory.KIND)
    assert Inventory.from_doc(doc) == INVENTORY
    hist = configmap(store.encode({"records": [RECORD.to_doc()]}), "gitward-history-shop")
    [back] = store.decode_record(hist, kind=history.KIND)["records"]
    assert SyncRecord.from_doc(back) == RECORD


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (None, "no binaryData key doc.json.gz"),
        ("%%% not base64 %%%", "not base64"),
        (base64.b64encode(b"garbage, not gzip").decode(), "not gzip"),
        (base64.b64encode(gzip.compress(b"x" * 100)[:-9]).decode(), "not gzip"),
        (packed(b"{not json"), "not JSON"),
        (packed(b"\xff\xfe"), "not JSON"),
        (packed(b"[1, 2]"), "$: [1, 2] is not of type 'object'"),
        (packed(b'{"revision": "x"}'), "'app' is a required property"),
        (packed(b'{"app": "shop", "entries": "abc"}'), "$.entries: 'abc' is not of type 'array'"),
        (
            packed(b'{"app": "shop", "entries": [{"kind": "Deployment", "name": "web"}]}'),
            "$.entries[0]: 'group' is a required property",
        ),
        (
            store.encode(
                {"app": "shop", "entries": [{**INVENTORY.to_doc()["entries"][0], "uid": 5}]}
            ),
            "$.entries[0].uid: 5 is not of type 'string'",
        ),
        (
            store.encode(
                {"app": "shop", "entries": [{**INVENTORY.to_doc()["entries"][0], "x": 1}]}
            ),
            "Additional properties are not allowed ('x' was unexpected)",
        ),
    ],
)
def test_an_inventory_that_does_not_decode_is_corrupt_and_names_its_configmap(
    data: Any, problem: str
) -> None:
    with pytest.raises(RecordCorrupt) as caught:
        store.decode_record(configmap(data), kind=inventory.KIND)
    message = str(caught.value)
    assert message.startswith(
        "ConfigMap/gitward-system/gitward-inventory-shop: not a valid gitward inventory record ("
    )
    assert problem in message
    assert "kubectl -n gitward-system delete configmap gitward-inventory-shop" in message
    assert "\n" not in message
    assert isinstance(caught.value, GitwardError)


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({}, "'records' is a required property"),
        ({"records": {"a": 1}}, "$.records: {'a': 1} is not of type 'array'"),
        ({"records": [{"app": "shop"}]}, "'revision' is a required property"),
        ({"records": [{**RECORD.to_doc(), "duration_seconds": "1s"}]}, "'1s' is not of type"),
        ({"records": [{**RECORD.to_doc(), "counts": {"created": "one"}}]}, "$.records[0].counts"),
        ({"records": [{**RECORD.to_doc(), "actions": [{"object": "x"}]}]}, "'outcome' is a req"),
        ({"records": [{**RECORD.to_doc(), "charts": [1]}]}, "$.records[0].charts[0]"),
    ],
)
def test_a_history_of_the_wrong_shape_is_corrupt(doc: Any, problem: str) -> None:
    body = configmap(store.encode(doc), "gitward-history-shop")
    with pytest.raises(RecordCorrupt) as caught:
        store.decode_record(body, kind=history.KIND)
    message = str(caught.value)
    assert message.startswith("ConfigMap/gitward-system/gitward-history-shop: not a valid")
    assert problem in message
    assert "deleting loses only the list of past syncs" in message


def test_a_record_that_inflates_beyond_the_limit_is_corrupt_without_reading_it_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store, "MAX_DOCUMENT_BYTES", 1000)
    bomb = packed(json.dumps({"app": "shop", "revision": "x" * 5000}).encode())
    with pytest.raises(RecordCorrupt, match="inflates to more than 1000 bytes"):
        store.decode_record(configmap(bomb), kind=inventory.KIND)


def test_history_keeps_the_last_success_behind_a_run_of_failures() -> None:
    failed = [
        dataclasses.replace(
            RECORD, result=history.SyncOutcome.FAILED, started_at=f"2026-12-02T09:0{i}:00+00:00"
        )
        for i in range(5)
    ]
    kept = history.kept([*failed, RECORD], limit=3)
    assert kept == [*failed[:3], RECORD]
    assert history.kept([RECORD, *failed], limit=3) == [RECORD, *failed[:2]]


def namespace_calls(srv: FakeApiServer, verb: str) -> list[str]:
    return [c.name for c in srv.calls if c.kind == "Namespace" and c.verb == verb]


def record_writes(srv: FakeApiServer) -> list[str]:
    """Each apply of a record, refused ones too."""
    return [c.name for c in srv.calls if c.kind == "ConfigMap" and c.verb == "patch"]


async def save_new(kube: Kube, inv: Inventory) -> None:
    """Save the first record of app ``inv.app``: its inventory."""
    first = AppRecords(app=inv.app, inventory=inv)
    await apprecords.save(kube, first, stored=AppRecords(app=inv.app))


async def save_twice(srv: FakeApiServer, *, app: str = "shop") -> None:
    async with srv.kube() as kube:
        await save_new(kube, dataclasses.replace(INVENTORY, app=app))
        await save_new(kube, dataclasses.replace(INVENTORY, app=f"{app}-2"))


def test_records_namespace_is_checked_once_per_api_server() -> None:
    srv = FakeApiServer(namespaces=("default",))
    asyncio.run(save_twice(srv))
    assert namespace_calls(srv, "get") == ["gitward-system"]
    assert namespace_calls(srv, "patch") == ["gitward-system"]
    # A new client of the same server (the next CLI sync in this process) knows it too.
    asyncio.run(save_twice(srv, app="later"))
    assert namespace_calls(srv, "get") == ["gitward-system"]
    for name in ("shop", "shop-2", "later", "later-2"):
        assert srv.stored("v1", "ConfigMap", f"gitward-app-{name}", "gitward-system")


def test_two_clusters_in_one_process_each_get_their_records_namespace() -> None:
    first, second = FakeApiServer(namespaces=("default",)), FakeApiServer(namespaces=("default",))
    asyncio.run(save_twice(first))
    asyncio.run(save_twice(second))
    for srv in (first, second):
        # Checked before the first write, not learnt from a write refused for want of it.
        assert namespace_calls(srv, "get") == ["gitward-system"]
        assert namespace_calls(srv, "patch") == ["gitward-system"]
        assert record_writes(srv) == ["gitward-app-shop", "gitward-app-shop-2"]
        assert srv.stored("v1", "ConfigMap", "gitward-app-shop", "gitward-system")


def test_records_namespace_deleted_meanwhile_is_made_again() -> None:
    srv = FakeApiServer(namespaces=("default",))

    async def go() -> None:
        async with srv.kube() as kube:
            await save_new(kube, INVENTORY)
            ns = await kube.resource_for("v1", "Namespace")
            assert ns is not None
            await kube.delete(ns, name="gitward-system")
            await save_new(kube, dataclasses.replace(INVENTORY, app="other"))

    asyncio.run(go())
    assert namespace_calls(srv, "patch") == ["gitward-system", "gitward-system"]
    # The write into the deleted namespace was refused once, then made after it.
    assert record_writes(srv) == ["gitward-app-shop", *["gitward-app-other"] * 2]
    assert srv.stored("v1", "ConfigMap", "gitward-app-other", "gitward-system")
    assert srv.stored("v1", "ConfigMap", "gitward-app-shop", "gitward-system") is None
