"""What the in-memory API server (:mod:`gitward.kube.fake`) holds, and its bookkeeping.

The objects by (group, plural, namespace, name), the kinds it serves, and the
event history watches replay, under one ``resourceVersion`` counter for the
whole server as etcd's revision is. Every stored write goes through
:meth:`Store.put`, so versions, generations and events cannot be forgotten
by one verb and kept by another.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gitward.kube._fake_http import selected
from gitward.kube.discovery import Resource
from gitward.objects import Body

Key = tuple[str, str, str, str]  # group, plural, namespace, name


def served(
    group: str, version: str, kind: str, plural: str, *, namespaced: bool = True
) -> Resource:
    """A resource served with every verb the fake knows."""
    verbs = frozenset({"create", "delete", "get", "list", "patch", "update", "watch"})
    return Resource(group, version, kind, plural, namespaced, verbs)


_NAMESPACES = served("", "v1", "Namespace", "namespaces", namespaced=False)


@dataclass
class Event:
    rv: int
    type: str
    resource: Resource
    object: Body


@dataclass
class Store:
    """The stored objects, served kinds and event history of one fake server."""

    resources: dict[tuple[str, str], Resource] = field(default_factory=dict)  # (group, plural)
    objects: dict[Key, Body] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    compacted: int = 0  # watches from before this version get 410 Gone
    rv: int = 1
    # The same objects by (group, plural, namespace): a LIST reads its own
    # collection, not all of a bench's 50,000 objects.
    collections: dict[tuple[str, str, str], dict[Key, Body]] = field(default_factory=dict)

    def has_namespace(self, name: str) -> bool:
        return ("", "namespaces", "", name) in self.objects

    def add_namespace(self, name: str) -> None:
        """A namespace that was there from the start: stored without an event."""
        self.put(_NAMESPACES, fresh(_NAMESPACES, "", name, {}), event=False)

    def get(self, res: Resource, namespace: str, name: str) -> Body | None:
        return self.objects.get((res.group, res.plural, namespace, name))

    def select(self, res: Resource, namespace: str, selector: str) -> list[Body]:
        """The objects of ``res`` in ``namespace`` (every one, if empty) matching ``selector``."""
        if namespace:
            found = list(self.collections.get((res.group, res.plural, namespace), {}).items())
        else:
            found = [
                item
                for (g, p, _), objects in self.collections.items()
                if (g, p) == (res.group, res.plural)
                for item in objects.items()
            ]
        return [o for _, o in sorted(found, key=lambda item: item[0]) if selected(o, selector)]

    def put(
        self, res: Resource, obj: Body, *, previous: Body | None = None, event: bool = True
    ) -> Body:
        """Store ``obj`` at a new version; returns a copy of what is stored."""
        meta = obj["metadata"]
        self.rv += 1
        meta["resourceVersion"] = str(self.rv)
        if previous is not None and _spec_of(previous) != _spec_of(obj):
            meta["generation"] = int(previous["metadata"].get("generation", 1)) + 1
        if res.kind == "CustomResourceDefinition":
            self._serve_crd(obj)
        key = (res.group, res.plural, meta.get("namespace", ""), meta["name"])
        self.objects[key] = obj
        self.collections.setdefault(key[:3], {})[key] = obj
        if event:
            kind = "ADDED" if previous is None else "MODIFIED"
            self.events.append(Event(self.rv, kind, res, copy.deepcopy(obj)))
        return copy.deepcopy(obj)

    def drop(self, key: Key) -> None:
        obj = self.objects.pop(key)
        self.collections.get(key[:3], {}).pop(key, None)
        res = self.resources.get((key[0], key[1]))
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        if res is not None:
            self.events.append(Event(self.rv, "DELETED", res, obj))

    def _serve_crd(self, crd: Body) -> None:
        """Serve the CRD's kind, and call it Established: nothing here is asynchronous."""
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
        storage = next((v for v in versions if v.get("storage")), versions[0] if versions else {})
        if names.get("plural") and names.get("kind") and storage:
            self.resources[(str(spec.get("group", "")), names["plural"])] = served(
                str(spec.get("group", "")),
                str(storage["name"]),
                str(names["kind"]),
                str(names["plural"]),
                namespaced=spec.get("scope") != "Cluster",
            )
        crd["status"] = {
            "conditions": [
                {"type": "NamesAccepted", "status": "True"},
                {"type": "Established", "status": "True"},
            ]
        }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fresh(
    res: Resource, namespace: str, name: str, body: Body, *, like: Body | None = None
) -> Body:
    """``body`` as a stored object: identity from the URL, bookkeeping from ``like`` or new."""
    obj = copy.deepcopy(body)
    obj["apiVersion"], obj["kind"] = res.api_version, res.kind
    meta = obj.setdefault("metadata", {})
    meta["name"] = name
    if res.namespaced:
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    old = (like or {}).get("metadata") or {}
    meta["uid"] = old.get("uid") or str(uuid.uuid4())
    meta["creationTimestamp"] = old.get("creationTimestamp") or _now()
    meta["generation"] = old.get("generation", 1)
    meta.pop("resourceVersion", None)
    if old.get("resourceVersion"):
        meta["resourceVersion"] = old["resourceVersion"]
    meta["managedFields"] = copy.deepcopy(old.get("managedFields") or [])
    if res.kind == "Namespace" and not res.group:
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
    return obj


def _spec_of(obj: Body) -> Body:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


__all__ = ["Event", "Key", "Store", "fresh", "served"]
