"""An app's records, inventory and sync history together, in one ConfigMap.

A sync ends by saying what it applied and how it went. Kept in one document,
that is one write instead of two, and a first install writes its records
twice (the pending inventory, then the outcome) rather than three times. At a
thousand apps' cold start that is a thousand requests fewer, and the records
namespace holds one ConfigMap per app, as an Argo CD Application or a Flux
Kustomization keeps both in one object.

Apps synced by an earlier gitward keep two ConfigMaps, ``gitward-inventory-<key>``
and ``gitward-history-<key>``. They are read when the app has no record of
the new kind, and deleted once the new one is written, so an upgrade loses
nothing and leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from gitward.errors import RecordCorrupt
from gitward.kube import Kube
from gitward.plan.inventory import Inventory
from gitward.record import history, inventory, store
from gitward.record.history import SyncRecord
from gitward.record.snapshot import RecordSnapshot

LABEL = "app"

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["app", "history"],
    "properties": {
        "app": {"type": "string", "minLength": 1},
        "inventory": inventory.SCHEMA,
        "history": history.SCHEMA["properties"]["records"],
    },
}

KIND = store.RecordKind(
    what="app record",
    schema=SCHEMA,
    remedy=(
        "delete it (kubectl -n {namespace} delete configmap {name}) or restore it from a "
        "backup; deleting loses the list of past syncs, and the next sync rebuilds the "
        "inventory from the tracking annotations on the app's objects"
    ),
)


class Origin(Enum):
    """Where a loaded record was stored."""

    NONE = "none"  # nowhere: the app has no records
    MERGED = "merged"  # in gitward-app-<key>
    LEGACY = "legacy"  # in gitward-inventory-<key> and gitward-history-<key>


@dataclass(frozen=True)
class AppRecords:
    """What gitward keeps about one app: what it applied, and its last syncs."""

    app: str  # the app's key (see gitward.config.identity)
    inventory: Inventory | None = None  # None: it has applied nothing that is kept
    history: tuple[SyncRecord, ...] = ()  # newest first
    origin: Origin = Origin.NONE

    @property
    def location(self) -> str:
        """``namespace/name`` of the ConfigMap that holds (or will hold) the inventory."""
        legacy = self.origin is Origin.LEGACY
        name = inventory.configmap_name(self.app) if legacy else configmap_name(self.app)
        return f"{store.record_namespace()}/{name}"

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"app": self.app, "history": [r.to_doc() for r in self.history]}
        if self.inventory is not None:
            doc["inventory"] = self.inventory.to_doc()
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any], *, origin: Origin) -> AppRecords:
        inv = doc.get("inventory")
        return cls(
            app=str(doc["app"]),
            inventory=Inventory.from_doc(inv) if inv is not None else None,
            history=tuple(SyncRecord.from_doc(r) for r in doc.get("history", ())),
            origin=origin,
        )


def configmap_name(key: str) -> str:
    """Records are named by the app's key (``<environment>.<name>`` or ``<name>``)."""
    return f"gitward-app-{key}"


def legacy_names(key: str) -> tuple[str, str]:
    return inventory.configmap_name(key), history.configmap_name(key)


def names(key: str) -> tuple[str, ...]:
    """Every ConfigMap that may hold the app's records."""
    return (configmap_name(key), *legacy_names(key))


async def load(kube: Kube, key: str, *, snapshot: RecordSnapshot | None = None) -> AppRecords:
    """The app's records (empty when it has none). Raises :class:`RecordCorrupt` when
    a record does not decode. ``snapshot``: see :func:`gitward.record.store.read`."""
    doc = await store.read(kube, configmap_name(key), kind=KIND, snapshot=snapshot)
    if doc is not None:
        return AppRecords.from_doc(doc, origin=Origin.MERGED)
    inv_name, hist_name = legacy_names(key)
    inv_doc, hist_doc = await asyncio.gather(
        store.read(kube, inv_name, kind=inventory.KIND, snapshot=snapshot),
        store.read(kube, hist_name, kind=history.KIND, snapshot=snapshot),
    )
    if inv_doc is None and hist_doc is None:
        return AppRecords(app=key)
    return AppRecords(
        app=key,
        inventory=Inventory.from_doc(inv_doc) if inv_doc is not None else None,
        history=tuple(SyncRecord.from_doc(r) for r in (hist_doc or {}).get("records", ())),
        origin=Origin.LEGACY,
    )


async def save(kube: Kube, records: AppRecords, *, stored: AppRecords) -> AppRecords:
    """Write ``records``, and return them as stored now.

    ``stored``: what :func:`load` or the last :func:`save` returned a moment ago;
    nothing is read again, and nothing is written when nothing changed. Records
    of the earlier two-ConfigMap kind are deleted once the new one is written
    (never before: a crash in between leaves both, and the new one is what is read).
    A record not yet in the new ConfigMap moves there with the first change to it.
    """
    if stored.origin is not Origin.MERGED and records.to_doc() == stored.to_doc():
        return stored
    await store.write(
        kube,
        configmap_name(records.app),
        records.to_doc(),
        labels={"gitward.io/app": records.app, "gitward.io/record": LABEL},
        stored=stored.to_doc() if stored.origin is Origin.MERGED else None,
    )
    if stored.origin is Origin.LEGACY:
        await _drop_legacy(kube, records.app)
    return replace(records, origin=Origin.MERGED)


async def forget(kube: Kube, key: str) -> None:
    """Delete every record of the app; absent is fine."""
    await store.delete(kube, configmap_name(key))
    await _drop_legacy(kube, key)


async def _drop_legacy(kube: Kube, key: str) -> None:
    await asyncio.gather(*(store.delete(kube, name) for name in legacy_names(key)))


async def load_all_inventories(kube: Kube) -> list[Inventory]:
    """Every app's inventory in the records namespace (one LIST); corrupt records are
    left out: with no readable app or source, no caller could act on them."""
    cm = await kube.resource_for("v1", "ConfigMap")
    assert cm is not None
    items, _ = await kube.list(
        cm,
        namespace=store.record_namespace(),
        label_selector=f"gitward.io/record in ({LABEL},inventory)",
    )
    merged: dict[str, Inventory | None] = {}
    legacy: dict[str, Inventory] = {}
    for body in items:
        label = ((body.get("metadata") or {}).get("labels") or {}).get("gitward.io/record")
        with contextlib.suppress(RecordCorrupt):
            if label == LABEL:
                doc = store.decode_record(body, kind=KIND)
                held = doc.get("inventory")
                merged[str(doc["app"])] = Inventory.from_doc(held) if held is not None else None
            else:
                inv = Inventory.from_doc(store.decode_record(body, kind=inventory.KIND))
                legacy[inv.app] = inv
    # A legacy record beside a new one is what a crash during the upgrade left: stale.
    kept = [inv for inv in merged.values() if inv is not None]
    return [*kept, *(inv for key, inv in legacy.items() if key not in merged)]
