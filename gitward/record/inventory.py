"""The shape of an app's inventory record (kept in :mod:`gitward.record.apprecords`)."""

from __future__ import annotations

from typing import Any

from gitward.record import store

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
    """Where an earlier gitward kept the app's inventory (see :mod:`gitward.record.apprecords`)."""
    return f"gitward-inventory-{key}"
