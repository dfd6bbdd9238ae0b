"""Loading and saving an app's inventory in the cluster."""

from __future__ import annotations

from typing import Any

from gitward.errors import RecordCorrupt
from gitward.kube import Kube
from gitward.plan.inventory import Inventory
from gitward.record import store
from gitward.record.snapshot import RecordSnapshot

_TEXT = {"type": "string"}

#: What :meth:`Inventory.from_doc` accepts, and nothing else.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["app"],
    "properties": {
        "app": {"type": "string", "minLength": 1},
        "revision": _TEXT,
        "source": _TEXT,
        "prune": {"type": "boolean"},
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
                    "values": _TEXT,
                },
            },
        },
    },
}

KIND = store.RecordKind(
    what="inventory",
    schema=SCHEMA,
    remedy=(
        "delete it (kubectl -n {namespace} delete configmap {name}): the next sync "
        "rebuilds it from the tracking annotations on the app's objects"
    ),
)


def configmap_name(key: str) -> str:
    """Records are named by the app's key (``<environment>.<name>`` or ``<name>``)."""
    return f"gitward-inventory-{key}"


def where(key: str) -> str:
    return f"{store.record_namespace()}/{configmap_name(key)}"


async def load(kube: Kube, key: str, *, snapshot: RecordSnapshot | None = None) -> Inventory | None:
    """The app's inventory; ``None`` if it has none. Raises ``RecordCorrupt`` if unreadable.
    ``snapshot``: see :func:`gitward.record.store.read`."""
    doc = await store.read(kube, configmap_name(key), kind=KIND, snapshot=snapshot)
    return Inventory.from_doc(doc) if doc is not None else None


async def save(
    kube: Kube, inventory: Inventory, *, stored: Inventory | store.Unread | None = store.UNREAD
) -> None:
    """``stored``: the inventory read or saved a moment ago (``None``: there was none)."""
    await store.write(
        kube,
        configmap_name(inventory.app),
        inventory.to_doc(),
        labels={"gitward.io/app": inventory.app, "gitward.io/record": "inventory"},
        stored=stored.to_doc() if isinstance(stored, Inventory) else stored,
    )


async def forget(kube: Kube, key: str) -> None:
    """Delete the app's inventory (a sync that undid its first install); absent is fine."""
    await store.delete(kube, configmap_name(key))


async def load_all(kube: Kube) -> list[Inventory]:
    """Every inventory in the records namespace (one LIST); corrupt ones are left out:
    with no readable app or source, no caller could act on them."""
    cm = await kube.resource_for("v1", "ConfigMap")
    assert cm is not None
    items, _ = await kube.list(
        cm, namespace=store.record_namespace(), label_selector="gitward.io/record=inventory"
    )
    out = []
    for body in items:
        try:
            out.append(Inventory.from_doc(store.decode_record(body, kind=KIND)))
        except RecordCorrupt:
            continue
    return out
