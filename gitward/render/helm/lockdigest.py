"""The digest helm keeps in a lock, worked out as helm works it out.

``helm dependency build`` refuses a lock whose ``digest`` is not the sha256
of the chart's dependency list and the lock's own list, both encoded as Go's
``encoding/json`` encodes helm's ``Dependency`` struct (its fields in
declaration order, empty ones left out). Recomputing it lets a render take
every archive from the cache without starting helm, and still refuse what
helm would refuse.

Only the plain case is encoded: printable-ASCII strings, tags that are
strings, ``import-values`` of strings or string maps, and no scalar that
helm's YAML reads differently from PyYAML (``y`` is a boolean to helm).
Anything else gives ``None``, and the caller runs helm, whose answer is the
authority. An encoding that differs from helm's can only make the digest
differ from the lock's, so it costs a helm run but never lets a stale lock
through.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# Go's encoder escapes these for HTML; the digest is over its bytes.
_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})
_FIELDS = (
    "name",
    "version",
    "repository",
    "condition",
    "tags",
    "enabled",
    "import-values",
    "alias",
)
# Plain scalars helm's YAML reads as booleans or numbers where PyYAML reads a
# string (quoted or not, PyYAML gives the same string, so neither is trusted).
_READ_OTHERWISE = frozenset({"y", "Y", "n", "N"})
# Left out when empty (`omitempty`); name and repository are always written.
_ALWAYS = frozenset({"name", "repository"})


class _Unencodable(Exception):
    """Input this encoder does not claim to encode as Go would."""


def lock_digest(requested: Any, locked: Any) -> str | None:
    """``sha256:<hex>`` as helm computes it over the two dependency lists, or ``None``."""
    if not isinstance(requested, list) or not isinstance(locked, list) or not requested:
        return None
    try:
        data = f"[{_list(requested)},{_list(locked)}]"
    except _Unencodable:
        return None
    return "sha256:" + hashlib.sha256(data.encode()).hexdigest()


def _list(entries: list[Any]) -> str:
    return "[" + ",".join(_entry(e) for e in entries) + "]"


def _entry(entry: Any) -> str:
    if not isinstance(entry, dict):
        raise _Unencodable
    parts: list[str] = []
    for field in _FIELDS:
        value = entry.get(field)
        if field == "enabled":
            if value not in (None, False, True):
                raise _Unencodable
            if value:
                parts.append('"enabled":true')
            continue
        if field == "tags":
            encoded = _strings(value)
        elif field == "import-values":
            encoded = _import_values(value)
        else:
            encoded = _string(value) if value is not None else None
        if encoded is None or encoded in ('""', "[]"):
            if field not in _ALWAYS:
                continue
            encoded = '""'
        parts.append(f'"{field}":{encoded}')
    return "{" + ",".join(parts) + "}"


def _string(value: Any) -> str:
    if not isinstance(value, str) or not all(" " <= c <= "~" for c in value):
        raise _Unencodable
    if value in _READ_OTHERWISE or value.startswith("0o"):
        raise _Unencodable
    return json.dumps(value).translate(_GO_ESCAPES)


def _strings(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _Unencodable
    return "[" + ",".join(_string(v) for v in value) + "]"


def _import_values(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _Unencodable
    items: list[str] = []
    for item in value:
        if isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                raise _Unencodable
            # Go writes a map's keys sorted.
            pairs = (f"{_string(k)}:{_string(v)}" for k, v in sorted(item.items()))
            items.append("{" + ",".join(pairs) + "}")
        else:
            items.append(_string(item))
    return "[" + ",".join(items) + "]"
