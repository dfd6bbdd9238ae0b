"""RFC 6901 JSON pointers over plain object bodies, for ignore rules."""

from __future__ import annotations

import copy
from typing import Any

from gitward.config.apps import IgnoreRule
from gitward.objects import Body, ObjectRef

_MISSING = object()


def split(pointer: str) -> list[str]:
    if pointer in ("", "/"):
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]


def _step(node: Any, key: str) -> Any:
    if isinstance(node, dict):
        return node.get(key, _MISSING)
    if isinstance(node, list) and key.isdigit() and int(key) < len(node):
        return node[int(key)]
    return _MISSING


def get(body: Body, pointer: str) -> Any:
    """The value at ``pointer``, or ``None`` when absent."""
    node: Any = body
    for key in split(pointer):
        node = _step(node, key)
        if node is _MISSING:
            return None
    return node


def remove(body: Body, pointer: str) -> None:
    """Delete the value at ``pointer`` in place; absent paths are fine."""
    keys = split(pointer)
    node: Any = body
    for key in keys[:-1]:
        node = _step(node, key)
        if node is _MISSING:
            return
    if not keys:
        return
    last = keys[-1]
    if isinstance(node, dict):
        node.pop(last, None)
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node.pop(int(last))


def put(body: Body, pointer: str, value: Any) -> None:
    """Set ``pointer`` to ``value`` in place, creating maps on the way."""
    keys = split(pointer)
    node: Any = body
    for key in keys[:-1]:
        nxt = _step(node, key)
        if nxt is _MISSING:
            if not isinstance(node, dict):
                return
            nxt = node[key] = {}
        node = nxt
    if not keys:
        return
    last = keys[-1]
    if isinstance(node, dict):
        node[last] = copy.deepcopy(value)
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = copy.deepcopy(value)


def matches(rule: IgnoreRule, ref: ObjectRef) -> bool:
    return (
        (not rule.kind or rule.kind == ref.kind)
        and (not rule.group or rule.group == ref.group)
        and (not rule.name or rule.name == ref.name)
        and (not rule.namespace or rule.namespace == ref.namespace)
    )


def ignored_pointers(rules: tuple[IgnoreRule, ...], ref: ObjectRef) -> tuple[str, ...]:
    out: list[str] = []
    for rule in rules:
        if matches(rule, ref):
            out.extend(rule.json_pointers)
    return tuple(dict.fromkeys(out))
