"""The diff between git and the cluster, per object, as the UI shows it.

The live body is first projected onto the fields git sets: what other writers
added (defaults, status, a controller's annotations) is not configuration
gitward owns, so it would only bury the change. Both sides are then
normalised, the app's ignored pointers removed, and Secret values masked
(:func:`gitward.plan.normalize.mask_secrets`) before any text is made, so no
Secret value ever reaches a template.

Hunks come from :meth:`difflib.SequenceMatcher.get_grouped_opcodes` and keep
every change block apart: each block of changed lines has its own anchor, and
unchanged lines between two blocks are shown, never folded into one block
(the complaint about Argo CD's compact diff, argo-cd #9776).
"""

from __future__ import annotations

import difflib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from gitward.objects import Body
from gitward.plan import normalize
from gitward.plan.diff import block_text_dumper
from gitward.plan.diff import to_yaml as yaml_text
from gitward.web.protocols import ObjectState

__all__ = [
    "DiffCache",
    "DiffLine",
    "Hunk",
    "ObjectDiff",
    "SideBySideRow",
    "object_diff",
    "project",
]

CONTEXT = 3

# libyaml's emitter: a page of a thousand objects is mostly YAML to write.
_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


_Dumper = block_text_dumper(_BaseDumper)


def to_yaml(body: Body | None) -> str:
    return yaml_text(body, dumper=_Dumper)


@dataclass(frozen=True)
class DiffLine:
    #: ``same``, ``del`` (live only) or ``add`` (git only).
    kind: str
    text: str
    old: int | None = None
    new: int | None = None
    #: The change block this line opens (1, 2, …); 0 on any other line.
    block: int = 0


@dataclass(frozen=True)
class SideBySideRow:
    left: DiffLine | None
    right: DiffLine | None


@dataclass(frozen=True)
class Hunk:
    header: str
    lines: tuple[DiffLine, ...]

    @property
    def rows(self) -> tuple[SideBySideRow, ...]:
        """The hunk side by side: removed lines beside the added lines that replace them."""
        rows: list[SideBySideRow] = []
        dels: list[DiffLine] = []
        adds: list[DiffLine] = []

        def flush() -> None:
            for i in range(max(len(dels), len(adds))):
                rows.append(
                    SideBySideRow(
                        dels[i] if i < len(dels) else None, adds[i] if i < len(adds) else None
                    )
                )
            dels.clear()
            adds.clear()

        for line in self.lines:
            if line.kind == "del":
                if adds:
                    flush()
                dels.append(line)
            elif line.kind == "add":
                adds.append(line)
            else:
                flush()
                rows.append(SideBySideRow(line, line))
        flush()
        return tuple(rows)


@dataclass(frozen=True)
class ObjectDiff:
    ref: str
    #: ``changed``, ``missing`` (not in the cluster) or ``same``.
    state: str
    hunks: tuple[Hunk, ...]
    #: Dotted paths of the fields that differ, for a reader to jump to.
    paths: tuple[str, ...]
    added: int
    removed: int


def project(live: Any, desired: Any) -> Any:
    """``live`` restricted to the fields ``desired`` sets (lists of equal length item by item)."""
    if isinstance(live, dict) and isinstance(desired, dict):
        return {key: project(live[key], value) for key, value in desired.items() if key in live}
    if isinstance(live, list) and isinstance(desired, list) and len(live) == len(desired):
        return [project(item, want) for item, want in zip(live, desired, strict=True)]
    return live


def _paths(live: Any, desired: Any, at: str = "") -> Iterator[str]:
    if isinstance(live, dict) and isinstance(desired, dict):
        for key in sorted(set(live) | set(desired), key=str):
            if live.get(key) != desired.get(key):
                yield from _paths(live.get(key), desired.get(key), f"{at}.{key}" if at else key)
    elif isinstance(live, list) and isinstance(desired, list) and len(live) == len(desired):
        for i, (a, b) in enumerate(zip(live, desired, strict=True)):
            if a != b:
                yield from _paths(a, b, f"{at}[{i}]")
    elif live != desired:
        yield at or "(object)"


def _hunks(old: list[str], new: list[str]) -> tuple[Hunk, ...]:
    hunks: list[Hunk] = []
    block = 0
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for group in matcher.get_grouped_opcodes(CONTEXT):
        lines: list[DiffLine] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(
                    DiffLine("same", old[i], i + 1, j + 1)
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                )
                continue
            block += 1
            opened = False
            for i in range(i1, i2) if tag in ("replace", "delete") else ():
                lines.append(DiffLine("del", old[i], old=i + 1, block=0 if opened else block))
                opened = True
            for j in range(j1, j2) if tag in ("replace", "insert") else ():
                lines.append(DiffLine("add", new[j], new=j + 1, block=0 if opened else block))
                opened = True
        first, last = group[0], group[-1]
        header = f"@@ live {first[1] + 1}-{last[2]} · git {first[3] + 1}-{last[4]} @@"
        hunks.append(Hunk(header, tuple(lines)))
    return tuple(hunks)


def object_diff(obj: ObjectState) -> ObjectDiff:
    """What a sync would change in ``obj``, masked and projected as described above."""
    desired = normalize.normalize(obj.desired, ignore=obj.ignore)
    live: Body | None = None
    if obj.live is not None:
        live = normalize.normalize(project(obj.live, obj.desired), ignore=obj.ignore)
    if live == desired:
        # Most objects match git: no text to make, and no Secret value to mask.
        return ObjectDiff(str(obj.ref), "same", (), (), 0, 0)
    shown_live, shown_desired = normalize.mask_secrets(live, desired)
    old = to_yaml(shown_live).splitlines()
    new = to_yaml(shown_desired).splitlines()
    hunks = _hunks(old, new)
    state = "missing" if obj.live is None else "changed" if hunks else "same"
    paths = tuple(_paths(shown_live or {}, shown_desired or {})) if hunks else ()
    added = sum(1 for h in hunks for line in h.lines if line.kind == "add")
    removed = sum(1 for h in hunks for line in h.lines if line.kind == "del")
    return ObjectDiff(str(obj.ref), state, hunks, paths, added, removed)


class DiffCache:
    """Each object's diff, made again only when its desired or live body is another one.

    The controller replaces a body when git renders a new one or a watch
    delivers a change, and never edits one in place, so the same two bodies
    (by identity; the entry holds them, so their ids cannot be reused) give
    the same diff. A page of a thousand objects then costs only the diffs of
    the objects that changed since it was last drawn. Bounded: past
    ``max_entries`` objects, the least recently drawn is forgotten.
    """

    def __init__(self, max_entries: int = 20_000) -> None:
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[Body, Body | None, tuple[str, ...], ObjectDiff]] = (
            OrderedDict()
        )

    def of(self, obj: ObjectState) -> ObjectDiff:
        key = str(obj.ref)
        entry = self._entries.get(key)
        if (
            entry is not None
            and entry[0] is obj.desired
            and entry[1] is obj.live
            and entry[2] == obj.ignore
        ):
            self._entries.move_to_end(key)
            return entry[3]
        diff = object_diff(obj)
        self._entries[key] = (obj.desired, obj.live, obj.ignore, diff)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return diff
