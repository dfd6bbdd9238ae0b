"""Loading and saving an app's inventory in the cluster."""

from __future__ import annotations

from typing import Any

from gitward.kube import Kube
from gitward.plan.inventory import Inventory
from gitward.record import store

_TEXT = {"type": "string"}

#: What :meth:`Inventory.from_doc` accepts, and nothing else.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["app"],
    "properties": {
        "app": {"type": "string", "minLength": 1},
        "revision": _TEXT,
        "entries": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["group", "kind", "namespace", "name", "version"],
                "properties": {
                    "group": _TEXT,
                    "kind": {"type": "string", "minLength": 1},
                    "namespace": _TEXT,
                    "name": {"type": "string", "minLength": 1},
                    "version": {"type": "string", "minLength": 1},
                    "uid": _TEXT,
                    "desired": _TEXT,
                    "fields": _TEXT,
                },
            },
        },
    },
}

KIND = store.RecordKind(
    what="inventory",
    schema=SCHEMA,
    remedy=(
        "restore it from a backup, or delete it (kubectl -n {namespace} delete configmap "
        "{name}): the next sync then adopts what git renders, but no longer prunes objects "
        "removed from git before that sync"
    ),
)


def configmap_name(app: str) -> str:
    return f"gitward-inventory-{app}"


async def load(kube: Kube, app: str) -> Inventory | None:
    """The app's inventory; ``None`` if it has none. Raises ``RecordCorrupt`` if unreadable."""
    doc = await store.read(kube, configmap_name(app), kind=KIND)
    return Inventory.from_doc(doc) if doc is not None else None


async def save(kube: Kube, inventory: Inventory) -> None:
    await store.write(
        kube,
        configmap_name(inventory.app),
        inventory.to_doc(),
        labels={"gitward.io/app": inventory.app, "gitward.io/record": "inventory"},
    )
