"""The public JSON shape: camelCase keys, enum values, lists, and a version.

Everything gitward shows outside the process (``-o json|yaml``, the HTTP API,
notifications) goes through this module, so a field is spelt the same
everywhere, the way the Kubernetes API spells its own (``lastSyncedAt``, not
``last_synced_at``). Each top-level document names its ``apiVersion`` and
``kind``: a script that reads it can tell which shape it holds, and a shape
that changes incompatibly gets a new version instead of a silent rename.

What gitward keeps in the cluster (inventory and history ConfigMaps) has its
own stored format, owned by :mod:`gitward.record`; it is never shown as is.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from enum import Enum
from typing import Any

__all__ = ["API_VERSION", "INTERNAL", "camel_case", "document", "encode"]

#: The version of every public document. Bump it when a field changes meaning or goes.
API_VERSION = "gitward.io/v1"

#: ``field(metadata=INTERNAL)`` keeps a dataclass field out of the public shape.
INTERNAL: Mapping[str, bool] = {"public": False}


@functools.lru_cache(maxsize=1024)
def camel_case(name: str) -> str:
    """``last_synced_at`` -> ``lastSyncedAt``; a name without underscores is left alone."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses become camelCase objects (without their
    internal fields), enums their values, tuples and sets lists, mappings objects."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {key: encode(getattr(value, name)) for key, name in _public_fields(type(value))}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return [encode(v) for v in items]
    return value


@functools.cache
def _public_fields(cls: type) -> tuple[tuple[str, str], ...]:
    """(public key, attribute) of each public field: the API lists a thousand apps
    twice a second while a UI is open, so a class's fields are read once."""
    return tuple(
        (camel_case(f.name), f.name)
        for f in dataclasses.fields(cls)
        if f.metadata.get("public", True)
    )


def document(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A top-level public document: ``apiVersion`` and ``kind`` first, then ``body``."""
    return {"apiVersion": API_VERSION, "kind": kind, **body}
