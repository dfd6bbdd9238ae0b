"""Writes of the in-memory API server (:mod:`gitward.kube.fake`): create, replace, apply, delete.

Each answers as the API server would, status codes and ``Status`` texts
included, and records its field manager in ``managedFields`` by the rules in
:mod:`gitward.kube._fake_fields`: server-side apply's conflicts, shared
fields and removals are what the planner and the controller's drift
judgement are tested against. A dry run answers without storing.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from gitward.kube import _fake_fields as ff
from gitward.kube._fake_http import conflict, not_found, status, status_body
from gitward.kube._fake_store import Store, fresh
from gitward.kube.discovery import Resource
from gitward.objects import Body


def _namespace_missing(store: Store, res: Resource, namespace: str) -> httpx.Response | None:
    if res.namespaced and not store.has_namespace(namespace):
        return status(404, "NotFound", f'namespaces "{namespace}" not found', kind="namespaces")
    return None


def create(
    store: Store, res: Resource, namespace: str, body: Body, params: dict[str, str]
) -> httpx.Response:
    if res.namespaced and not namespace:
        return status(404, "NotFound", "a namespaced object needs a namespace in its path")
    missing = _namespace_missing(store, res, namespace)
    if missing is not None:
        return missing
    meta = body.setdefault("metadata", {})
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
    name = str(meta.get("name") or "")
    if not name:
        return status(
            422, "Invalid", f"{res.kind} is invalid: metadata.name: Required value", kind=res
        )
    if (res.group, res.plural, namespace, name) in store.objects:
        return status(
            409, "AlreadyExists", f'{res.plural} "{name}" already exists', kind=res, name=name
        )
    manager = params.get("fieldManager") or "unknown"
    obj = fresh(res, namespace, name, body)
    ff.own_update(obj, None, manager, res.api_version)
    if params.get("dryRun") == "All":
        return httpx.Response(201, json=obj)
    return httpx.Response(201, json=store.put(res, obj))


def replace(
    store: Store, res: Resource, namespace: str, name: str, body: Body, params: dict[str, str]
) -> httpx.Response:
    live = store.get(res, namespace, name)
    if live is None:
        return not_found(res, name)
    meta = body.setdefault("metadata", {})
    if meta.get("resourceVersion") and meta["resourceVersion"] != live["metadata"].get(
        "resourceVersion"
    ):
        return status(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {res.plural} "{name}": the object has been '
            "modified; please apply your changes to the latest version and try again",
            kind=res,
            name=name,
        )
    obj = fresh(res, namespace, name, body, like=live)
    ff.own_update(obj, live, params.get("fieldManager") or "unknown", res.api_version)
    if params.get("dryRun") == "All":
        return httpx.Response(200, json=obj)
    return httpx.Response(200, json=store.put(res, obj, previous=live))


def apply(
    store: Store, res: Resource, namespace: str, name: str, config: Any, params: dict[str, str]
) -> httpx.Response:
    manager = params.get("fieldManager", "")
    if not manager:
        return status(422, "Invalid", "PATCH with apply requires a fieldManager")
    if not isinstance(config, dict):
        return status(400, "BadRequest", "the apply configuration is not an object")
    if res.namespaced:
        missing = _namespace_missing(store, res, namespace)
        if missing is not None:
            return missing
    cmeta = config.get("metadata") or {}
    if cmeta.get("name", name) != name:
        return status(400, "BadRequest", "the name in the body does not match the URL")
    live = store.get(res, namespace, name)
    new_paths = ff.paths_of(config)
    sets = ff.manager_sets(live) if live else {}
    old_paths = sets.get((manager, "Apply"), set())
    current = live or fresh(res, namespace, name, {})
    conflicts: dict[tuple[str, str], list[ff.Path]] = {}
    for path in sorted(new_paths):
        if not ff.is_leaf(path):
            continue
        before = ff.value_at(current, path)
        if before is ff.MISSING or before == ff.value_at(config, path):
            continue
        for owner, owned in sets.items():
            if owner != (manager, "Apply") and path in owned:
                conflicts.setdefault(owner, []).append(path)
    force = params.get("force") == "true"
    if conflicts and not force:
        return conflict(res, name, conflicts)
    for owner, paths in conflicts.items():
        sets[owner] = sets[owner] - set(paths)
    merged = ff.merge(current, {k: v for k, v in config.items() if k != "metadata"})
    mmeta = merged.setdefault("metadata", {})
    for key, value in cmeta.items():
        if key in ("labels", "annotations", "finalizers", "ownerReferences"):
            mmeta[key] = ff.merge(mmeta.get(key, ff.MISSING), value, key)
    others = set().union(*(p for o, p in sets.items() if o != (manager, "Apply")))
    for path in sorted(old_paths - new_paths, key=len, reverse=True):
        if not any(o[: len(path)] == path for o in others):
            ff.remove(merged, path)
    sets[(manager, "Apply")] = new_paths
    ff.set_managed(merged, sets, live, res.api_version)
    if live is not None and merged == live:
        return httpx.Response(200, json=live)  # nothing changed: no write, same version
    if params.get("dryRun") == "All":
        return httpx.Response(200 if live else 201, json=merged)
    return httpx.Response(200 if live else 201, json=store.put(res, merged, previous=live))


def delete(store: Store, res: Resource, namespace: str, name: str, options: Body) -> httpx.Response:
    key = (res.group, res.plural, namespace, name)
    live = store.objects.get(key)
    if live is None:
        return not_found(res, name)
    pre = options.get("preconditions") or {}
    meta = live["metadata"]
    if pre.get("uid") and pre["uid"] != meta.get("uid"):
        return status(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {res.plural} "{name}": Precondition failed: '
            f"UID in precondition: {pre['uid']}, UID in object meta: {meta.get('uid')}",
            kind=res,
            name=name,
        )
    if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
        return status(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {res.plural} "{name}": Precondition failed: '
            f"ResourceVersion in precondition: {pre['resourceVersion']}, "
            f"ResourceVersion in object meta: {meta.get('resourceVersion')}",
            kind=res,
            name=name,
        )
    if options.get("dryRun") == ["All"]:
        return httpx.Response(200, json=live)
    if res.kind == "Namespace" and not res.group:
        for k in [k for k in store.objects if k[2] == name]:
            store.drop(k)
    store.drop(key)
    return httpx.Response(200, json=status_body(200, "", "", status="Success"))


__all__ = ["apply", "create", "delete", "replace"]
