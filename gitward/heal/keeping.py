"""What the controller keeps of each object for as long as it tracks it.

A thousand apps of ten objects are ten thousand desired bodies, ten thousand
live bodies and ten thousand field sets, held for the controller's whole
life. Decoded JSON repeats itself: every body carries its own copy of every
key (``metadata``, ``namespace``, ``annotations``…) and of values that are the
same in many bodies (the namespace, the tracking annotation, a condition's
reason), and every ConfigMap an app applies the same way has the same field
set. So what is kept is made of one copy of each string, and of one dict per
distinct field set; the heap profile (``bench/controller_heap.py``) showed
those copies as the largest part of the controller's memory.

Kept bodies are shared and read-only: the controller replaces a live or
desired body when a newer one arrives, and never edits one in place.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from gitward.objects import Body

# Field sets seen, by their canonical JSON. Few shapes repeat across thousands
# of objects; the bound only matters if shapes kept changing, and clearing it
# costs nothing but sharing for the sets kept from then on.
_FIELD_SETS: dict[str, dict[str, Any]] = {}
_FIELD_SETS_MAX = 4096


def kept_live(body: Body) -> Body:
    """``body`` as kept: without ``metadata.managedFields`` (health and the UI need
    none; drift is judged on the event itself, fields and all), strings shared."""
    meta = body.get("metadata")
    out: Body = {}
    for key, value in body.items():
        if key == "metadata" and isinstance(meta, dict):
            out["metadata"] = {
                _shared(k): _shared(v) for k, v in meta.items() if k != "managedFields"
            }
        else:
            out[_shared(key)] = _shared(value)
    return out


def kept_desired(body: Body) -> Body:
    """The desired body as kept: the same values, strings shared."""
    out: Body = _shared(body)
    return out


def shared_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """One dict for every equal field set (a fieldsV1 tree), to be read, never edited."""
    if not fields:
        return fields
    key = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    found = _FIELD_SETS.get(key)
    if found is None:
        if len(_FIELD_SETS) >= _FIELD_SETS_MAX:
            _FIELD_SETS.clear()
        found = _FIELD_SETS[key] = _shared(fields)
    return found


def _shared(value: Any) -> Any:
    """A copy of a JSON value whose strings (keys and values) are the interned ones."""
    if type(value) is str:  # sys.intern takes no subclass
        return sys.intern(value)
    if isinstance(value, dict):
        return {sys.intern(k) if type(k) is str else k: _shared(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shared(v) for v in value]
    return value


__all__ = ["kept_desired", "kept_live", "shared_fields"]
