"""The set of objects an app applied: what prune may delete, and nothing else.

Each entry also keeps two fingerprints that let a sync prove an object is
unchanged without a single write request or dry-run:

* ``desired``: a hash of the manifest gitward last applied for it;
* ``fields``: a hash of the fields the API server says gitward manages
  (``managedFields`` of manager ``gitward``). Any hand edit of one of those
  fields moves its ownership to the editor, which changes this hash.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from gitward.objects import FIELD_MANAGER, Body, ObjectRef
from gitward.plan import pointers


@dataclass(frozen=True)
class InventoryEntry:
    group: str
    kind: str
    namespace: str
    name: str
    version: str
    uid: str = ""
    desired: str = ""
    fields: str = ""

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(group=self.group, kind=self.kind, namespace=self.namespace, name=self.name)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


@dataclass(frozen=True)
class Inventory:
    app: str
    entries: tuple[InventoryEntry, ...]
    revision: str = ""

    def by_ref(self) -> dict[ObjectRef, InventoryEntry]:
        return {e.ref: e for e in self.entries}

    def to_doc(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "revision": self.revision,
            "entries": [asdict(e) for e in sorted(self.entries, key=lambda e: e.ref)],
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Inventory:
        return cls(
            app=str(doc["app"]),
            revision=str(doc.get("revision", "")),
            entries=tuple(InventoryEntry(**e) for e in doc.get("entries", [])),
        )


def desired_hash(body: Body, ignore: tuple[str, ...]) -> str:
    raw = json.dumps([body, list(ignore)], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def managed_fields(body: Body, manager: str = FIELD_MANAGER) -> dict[str, Any] | None:
    """The fieldsV1 set ``manager`` holds through Apply, or ``None``."""
    for entry in (body.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            fields = entry.get("fieldsV1")
            return copy.deepcopy(fields) if isinstance(fields, dict) else {}
    return None


def fields_hash(body: Body, ignore: tuple[str, ...]) -> str:
    """Hash of gitward's managed field set, without the ignored pointers.

    An object on which gitward manages no field (a Namespace with just a
    name) hashes as the empty set. Returns ``""`` when the set cannot be
    trusted for the fast path: an ignore rule points into a list.
    """
    fields = managed_fields(body) or {}
    for pointer in ignore:
        keys = pointers.split(pointer)
        if any(k.isdigit() for k in keys):
            return ""
        node: Any = fields
        for key in keys[:-1]:
            node = node.get(f"f:{key}") if isinstance(node, dict) else None
        if isinstance(node, dict) and keys:
            node.pop(f"f:{keys[-1]}", None)
    raw = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]
