"""Reading ``managedFields``: which fields gitward lost, and to whom.

A hand edit of a field gitward applied moves that field's ownership from
the app's field manager (``gitward/<app>``) to the editor (``kubectl-edit``, ``kubectl``, a
controller). So drift shows up as fields leaving gitward's set, and the
manager that now holds them is the actor. Fields that gitward never owned
(an extra label added by hand) never enter the comparison: they are not drift.
"""

from __future__ import annotations

import json
from typing import Any

from gitward.objects import Body

Path = tuple[str, ...]


def _segment(key: str) -> str:
    kind, _, rest = key.partition(":")
    if kind == "f":
        return rest
    if kind == "k":
        try:
            item = json.loads(rest)
        except ValueError:
            return f"[{rest}]"
        return "[" + ",".join(f"{k}={v}" for k, v in sorted(item.items())) + "]"
    if kind == "v":
        return f"[{rest}]"
    if kind == "i":
        return f"[{rest}]"
    return key


def leaves(fields: dict[str, Any], prefix: Path = ()) -> set[Path]:
    """Every owned path in a fieldsV1 set, as readable segments."""
    out: set[Path] = set()
    for key, sub in fields.items():
        if key == ".":
            out.add(prefix)
            continue
        path = (*prefix, _segment(key))
        if isinstance(sub, dict) and sub:
            out |= leaves(sub, path)
        else:
            out.add(path)
    return out


def dotted(path: Path) -> str:
    out = ""
    for seg in path:
        out += seg if seg.startswith("[") or not out else "." + seg
    return out


def manager_sets(body: Body) -> list[tuple[str, str, dict[str, Any]]]:
    """(manager, time, fieldsV1) of every managedFields entry."""
    out = []
    for entry in (body.get("metadata") or {}).get("managedFields") or []:
        fields = entry.get("fieldsV1")
        if isinstance(fields, dict):
            out.append((str(entry.get("manager", "")), str(entry.get("time", "")), fields))
    return out


def gitward_fields(body: Body, manager: str) -> dict[str, Any]:
    """The field set the app's own field manager holds."""
    for name, _, fields in manager_sets(body):
        if name == manager:
            return fields
    return {}


def lost_paths(before: dict[str, Any], after: dict[str, Any]) -> list[Path]:
    """Paths gitward owned in ``before`` and no longer owns in ``after``."""
    return sorted(leaves(before) - leaves(after))


def actor_of(body: Body, lost: list[Path], manager: str) -> str:
    """The manager that now owns the most of ``lost``; else the most recent other manager."""
    others = [(m, t, f) for m, t, f in manager_sets(body) if m != manager]
    if not others:
        return "unknown"
    wanted = set(lost)
    best = max(others, key=lambda e: (len(leaves(e[2]) & wanted), e[1]))
    return best[0] or "unknown"


def taken_back(live: Body, applied: Body, manager: str) -> dict[str, list[str]]:
    """What an apply takes from other writers: for each other manager, the fields
    it holds in ``live`` but no longer in ``applied`` and that ``manager`` now holds.

    A field both set to the same value stays shared, so it is not taken.
    """
    mine = leaves(gitward_fields(applied, manager))
    after = {name: leaves(fields) for name, _, fields in manager_sets(applied)}
    out: dict[str, list[str]] = {}
    for name, _, fields in manager_sets(live):
        if name == manager:
            continue
        lost = sorted((leaves(fields) - after.get(name, set())) & mine)
        if lost:
            out[name] = [dotted(p) for p in lost]
    return out
