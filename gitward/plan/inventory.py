"""The set of objects an app applied: what prune may delete, and nothing else.

Each entry also keeps three fingerprints that let a sync prove an object is
unchanged without a single write request or dry-run:

* ``desired``: a hash of the manifest gitward last applied for it;
* ``fields``: a hash of the fields the API server says the app manages
  (``managedFields`` of its field manager). A hand edit of one of those
  fields moves its ownership to the editor, which changes this hash;
* ``values``: a hash of the *values* of those fields. A writer that uses the
  app's own field manager name keeps the field set as it was but not the
  values, so ownership alone cannot see it.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from gitward.objects import Body, ObjectRef
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
    values: str = ""

    @classmethod
    def of(
        cls,
        ref: ObjectRef,
        api_version: str,
        *,
        uid: str = "",
        desired: str = "",
        fields: str = "",
        values: str = "",
    ) -> InventoryEntry:
        return cls(
            group=ref.group,
            kind=ref.kind,
            namespace=ref.namespace,
            name=ref.name,
            version=api_version.rsplit("/", maxsplit=1)[-1],
            uid=uid,
            desired=desired,
            fields=fields,
            values=values,
        )

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(group=self.group, kind=self.kind, namespace=self.namespace, name=self.name)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def _ref_order(e: InventoryEntry) -> tuple[str, str, str, str]:
    """The order of :class:`ObjectRef` (group, kind, namespace, name), without making one."""
    return (e.group, e.kind, e.namespace, e.name)


@dataclass(frozen=True)
class Inventory:
    app: str  # the app's key (see gitward.config.identity)
    entries: tuple[InventoryEntry, ...]
    revision: str = ""
    source: str = ""  # empty in records written before apps named their source
    # The app's ``prune`` when it last synced: an app removed from gitward.yaml
    # has no spec left to say whether its objects go with it.
    prune: bool = True

    def by_ref(self) -> dict[ObjectRef, InventoryEntry]:
        return {e.ref: e for e in self.entries}

    def to_doc(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "source": self.source,
            "revision": self.revision,
            "prune": self.prune,
            # By hand rather than asdict: a thousand entries, written twice a sync.
            "entries": [
                {
                    "group": e.group,
                    "kind": e.kind,
                    "namespace": e.namespace,
                    "name": e.name,
                    "version": e.version,
                    "uid": e.uid,
                    "desired": e.desired,
                    "fields": e.fields,
                    "values": e.values,
                }
                for e in sorted(self.entries, key=_ref_order)
            ],
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Inventory:
        return cls(
            app=str(doc["app"]),
            revision=str(doc.get("revision", "")),
            source=str(doc.get("source", "")),
            prune=bool(doc.get("prune", True)),
            entries=tuple(InventoryEntry(**e) for e in doc.get("entries", [])),
        )


def desired_hash(body: Body, ignore: tuple[str, ...]) -> str:
    raw = json.dumps([body, list(ignore)], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def managed_fields(body: Body, manager: str) -> dict[str, Any] | None:
    """The fieldsV1 set ``manager`` holds through Apply (a copy), or ``None``."""
    fields = _held(body, manager)
    return None if fields is None else copy.deepcopy(fields)


def _held(body: Body, manager: str) -> dict[str, Any] | None:
    """The fieldsV1 set ``manager`` holds through Apply, as it is in ``body``."""
    for entry in (body.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            fields = entry.get("fieldsV1")
            return fields if isinstance(fields, dict) else {}
    return None


def _owned(body: Body, ignore: tuple[str, ...], manager: str) -> dict[str, Any] | None:
    """``manager``'s field set without the ignored pointers; ``None`` when an
    ignore rule points into a list (the set cannot then be trusted)."""
    if not ignore:
        return _held(body, manager) or {}  # read, never changed: no copy needed
    fields = managed_fields(body, manager) or {}
    for pointer in ignore:
        keys = pointers.split(pointer)
        if any(k.isdigit() for k in keys):
            return None
        node: Any = fields
        for key in keys[:-1]:
            node = node.get(f"f:{key}") if isinstance(node, dict) else None
        if isinstance(node, dict) and keys:
            node.pop(f"f:{keys[-1]}", None)
    return fields


def _digest(data: Any) -> str:
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def fields_hash(body: Body, ignore: tuple[str, ...], manager: str) -> str:
    """Hash of ``manager``'s field set, without the ignored pointers.

    An object on which the manager holds no field (a Namespace with just a
    name) hashes as the empty set. Returns ``""`` when the set cannot be
    trusted for the fast path: an ignore rule points into a list.
    """
    fields = _owned(body, ignore, manager)
    return "" if fields is None else _digest(fields)


def values_hash(body: Body, ignore: tuple[str, ...], manager: str) -> str:
    """Hash of the values of the fields ``manager`` holds (``""`` as for fields_hash)."""
    fields = _owned(body, ignore, manager)
    return "" if fields is None else _digest(project(body, fields))


def project(value: Any, fields: Any) -> Any:
    """The part of ``value`` a fieldsV1 set covers.

    Map fields are ``f:<name>``; list items are ``k:<merge key JSON>``,
    ``v:<value JSON>`` or ``i:<index>``; an empty set owns the whole value.
    """
    if not isinstance(fields, dict) or not (fields.keys() - {"."}):
        return value
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in fields.items():
            kind, _, name = key.partition(":")
            if kind == "f" and name in value:
                out[name] = project(value[name], sub)
        return out
    if isinstance(value, list):
        items: list[Any] = []
        for key, sub in sorted(fields.items()):
            kind, _, rest = key.partition(":")
            if kind == "k":
                wanted = json.loads(rest)
                match = next(
                    (
                        i
                        for i in value
                        if isinstance(i, dict) and all(i.get(k) == v for k, v in wanted.items())
                    ),
                    None,
                )
                items.append([key, project(match, sub) if match is not None else None])
            elif kind == "v":
                items.append([key, json.loads(rest) in value])
            elif kind == "i" and rest.isdigit():
                index = int(rest)
                items.append([key, project(value[index], sub) if index < len(value) else None])
        return items
    return value
