"""Field sets and structured merge for the in-memory API server (:mod:`gitward.kube.fake`).

Server-side apply decides ownership from *field paths*: every leaf a
configuration sets, and every keyed list item, is one path, and each field
manager owns a set of them (``metadata.managedFields[].fieldsV1``). gitward's
planner and controller read exactly those sets (``plan/inventory.py``
fingerprints them, ``plan/fieldsets.py`` names who took which field), so
this module gets them right for the shapes manifests use:

* maps are ``f:<name>``; an empty map or list, a scalar and an *atomic* list
  are leaves;
* associative lists (``containers`` by ``name``, ``ports`` by port and
  protocol, ``env``/``volumes`` by ``name``, ``volumeMounts`` by
  ``mountPath`` …) are ``k:<key JSON>`` items that are owned themselves
  (``"."``) and whose fields are owned one by one;
* set lists (``finalizers``) are ``v:<value JSON>`` items;
* label and node selectors are atomic maps, owned whole.

What it simplifies: list types come from the field's *name*, not from the
OpenAPI schema of the kind (a CRD's lists are atomic unless they use one of
these names), and no defaulting happens, except that a port's item key gets the ``protocol: TCP``
the server would default (the stored port itself stays without it).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from gitward.objects import Body

Path = tuple[str, ...]

# Fields whose lists are merged by key, and the key fields (any present form the key).
_MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",),
    "ports": ("containerPort", "port", "protocol"),
    "ownerReferences": ("uid",),
    "conditions": ("type",),
    "hostAliases": ("ip",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
}
_SET_LISTS = frozenset({"finalizers"})
# Maps owned whole, as the API's schemas mark label selectors and node selectors.
_ATOMIC_MAPS = frozenset(
    {"selector", "nodeSelector", "labelSelector", "namespaceSelector", "podSelector"}
)
# Never owned by anyone: identity, bookkeeping, and the status the server keeps.
_UNOWNED_TOP = frozenset({"apiVersion", "kind", "status"})
_UNOWNED_META = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generateName",
    }
)
MISSING: Any = object()


def _item_key(field: str, item: Any) -> dict[str, Any] | None:
    """The merge key of ``item`` in list ``field``; ``None`` if the list is not associative."""
    keys = _MERGE_KEYS.get(field)
    if keys is None or not isinstance(item, dict):
        return None
    found = {k: item[k] for k in keys if k in item}
    if field == "ports" and found and "protocol" not in found:
        # The one default the fake knows: the server keys a port by its defaulted protocol.
        found["protocol"] = "TCP"
    return found or None


def _list_kind(field: str, items: list[Any]) -> str:
    """``assoc``, ``set`` or ``atomic``; a list whose items lack keys is atomic."""
    if not items:
        return "atomic"
    if field in _SET_LISTS:
        return "set"
    if all(_item_key(field, i) is not None for i in items):
        return "assoc"
    return "atomic"


def _key_segment(key: dict[str, Any]) -> str:
    return "k:" + json.dumps(key, sort_keys=True, separators=(",", ":"))


def paths_of(body: dict[str, Any]) -> set[Path]:
    """Every path an object (or an apply configuration) sets, as managedFields counts them."""
    top = {k: v for k, v in body.items() if k not in _UNOWNED_TOP}
    meta = top.pop("metadata", None)
    out = _paths(top, ())
    if isinstance(meta, dict):
        rest = {k: v for k, v in meta.items() if k not in _UNOWNED_META}
        if rest:
            out |= _paths(rest, ("f:metadata",))
    return out


def _paths(value: dict[str, Any], prefix: Path) -> set[Path]:
    out: set[Path] = set()
    for name, sub in value.items():
        path = (*prefix, f"f:{name}")
        if isinstance(sub, dict) and sub and name not in _ATOMIC_MAPS:
            out |= _paths(sub, path)
        elif isinstance(sub, list) and _list_kind(name, sub) == "assoc":
            for item in sub:
                key = _item_key(name, item)
                assert key is not None
                item_path = (*path, _key_segment(key))
                out.add(item_path)
                out |= _paths(item, item_path)
        elif isinstance(sub, list) and _list_kind(name, sub) == "set":
            out |= {(*path, "v:" + json.dumps(i, separators=(",", ":"))) for i in sub}
        else:
            out.add(path)
    return out


def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    """The ``fieldsV1`` document of a path set; ``"."`` marks an owned node with children."""
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for seg in path:
            node = node.setdefault(seg, {})
    for path in paths:
        node = root
        for seg in path:
            node = node[seg]
        if node and "." not in node:
            node["."] = {}
    return root


def from_fields_v1(fields: dict[str, Any], prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for seg, sub in fields.items():
        if seg == ".":
            out.add(prefix)
        elif isinstance(sub, dict) and sub:
            out |= from_fields_v1(sub, (*prefix, seg))
        else:
            out.add((*prefix, seg))
    return out


def value_at(body: Any, path: Path) -> Any:
    """The value ``path`` names in ``body``; :data:`MISSING` if absent."""
    node = body
    field = ""
    for seg in path:
        kind, _, rest = seg.partition(":")
        if kind == "f" and isinstance(node, dict) and rest in node:
            node, field = node[rest], rest
        elif kind == "k" and isinstance(node, list):
            want = json.loads(rest)
            node = next((i for i in node if _item_key(field, i) == want), MISSING)
        elif kind == "v" and isinstance(node, list):
            value = json.loads(rest)
            node = value if value in node else MISSING
        else:
            return MISSING
        if node is MISSING:
            return MISSING
    return node


def is_leaf(path: Path) -> bool:
    """Leaves carry values that can conflict; list items are matched by key instead."""
    return bool(path) and not path[-1].startswith(("k:", "v:"))


def dotted(path: Path) -> str:
    """``.spec.template.spec.containers[name="web"].image``, as the API names a conflict."""
    out = ""
    for seg in path:
        kind, _, rest = seg.partition(":")
        if kind == "f":
            out += "." + rest
        elif kind == "k":
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(rest).items()) + "]"
        else:
            out += f"[{rest}]"
    return out


def merge(live: Any, config: Any, field: str = "") -> Any:
    """``config`` merged into ``live``: maps by key, associative lists by item key,
    set lists by value; everything else (scalars, atomic lists) is replaced."""
    if isinstance(live, dict) and isinstance(config, dict) and field not in _ATOMIC_MAPS:
        out = dict(live)
        for k, v in config.items():
            out[k] = merge(live[k], v, k) if k in live else copy.deepcopy(v)
        return out
    if isinstance(live, list) and isinstance(config, list):
        kind = _list_kind(field, config)
        if kind == "assoc" and _list_kind(field, live) in ("assoc", "atomic"):
            merged = [copy.deepcopy(i) for i in live]
            for item in config:
                key = _item_key(field, item)
                at = next(
                    (n for n, i in enumerate(merged) if _item_key(field, i) == key),
                    None,
                )
                if at is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[at] = merge(merged[at], item)
            return merged
        if kind == "set":
            return [*live, *(copy.deepcopy(i) for i in config if i not in live)]
    return copy.deepcopy(config)


def remove(body: Any, path: Path) -> None:
    """Drop what ``path`` names from ``body`` (nothing if it is absent)."""
    if not path:
        return
    parent = value_at(body, path[:-1])
    kind, _, rest = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind in ("k", "v") and isinstance(parent, list):
        target = value_at(body, path)
        if target is not MISSING:
            parent.remove(target)


# -- managedFields bookkeeping ------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def manager_sets(obj: Body) -> dict[tuple[str, str], set[Path]]:
    out: dict[tuple[str, str], set[Path]] = {}
    for e in obj["metadata"].get("managedFields") or []:
        out[(str(e.get("manager", "")), str(e.get("operation", "")))] = from_fields_v1(
            e.get("fieldsV1") or {}
        )
    return out


def set_managed(
    obj: Body, sets: dict[tuple[str, str], set[Path]], before: Body | None, api_version: str
) -> None:
    """Write ``sets`` as managedFields; an entry keeps its time unless its set changed."""
    old = {
        (str(e.get("manager")), str(e.get("operation"))): e
        for e in ((before or {}).get("metadata") or {}).get("managedFields") or []
    }
    entries = []
    for (manager, operation), paths in sets.items():
        if not paths:
            continue  # a manager that holds nothing is dropped, as the API server does
        fields = to_fields_v1(paths)
        prior = old.get((manager, operation))
        entries.append(
            {
                "manager": manager,
                "operation": operation,
                "apiVersion": api_version,
                "time": prior["time"] if prior and prior.get("fieldsV1") == fields else _now(),
                "fieldsType": "FieldsV1",
                "fieldsV1": fields,
            }
        )
    obj["metadata"]["managedFields"] = entries


def own_update(obj: Body, before: Body | None, manager: str, api_version: str) -> None:
    """Ownership after a create or replace by ``manager``: it takes every field it changed
    (all of them on create), and a field it removed is nobody's any more."""
    after = paths_of(obj)
    old = paths_of(before) if before is not None else set()
    changed = {p for p in after if before is None or value_at(before, p) != value_at(obj, p)}
    removed = old - after
    sets = manager_sets(before) if before is not None else {}
    for owner in list(sets):
        sets[owner] = sets[owner] - changed - removed
    sets[(manager, "Update")] = (sets.get((manager, "Update"), set()) | changed) - removed
    set_managed(obj, sets, before, api_version)
