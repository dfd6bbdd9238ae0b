"""Every YAML gitward reads from a config repository is loaded here, strictly and within bounds.

Three things plain ``yaml.safe_load`` lets through, and why we refuse them:

* **Alias bombs.** Nine anchors of ten aliases each make 10⁹ nodes once
  expanded. PyYAML builds them cheaply as shared references, but the first
  conversion (to JSON, a schema check, a diff) expands them and dies with a
  ``MemoryError`` minutes later. So before a document is constructed, a
  document that can hold anchors (its text has an ``&name``) is measured on the
  composed node graph, each node once: at most :data:`MAX_ALIASES` alias
  uses, :data:`MAX_EXPANDED` expanded size (nodes plus scalar characters)
  and :data:`MAX_DEPTH` expanded depth.
* **Deep nesting.** libyaml's composer recurses in C: tens of thousands of
  ``[`` crash the process, and JSON encoding gives up at about a thousand
  levels. A cheap upper bound on the depth of each document (its
  ``[``/``{`` count plus the longest run of indentation and ``-``/``?``/``:``
  indicators that starts a line) is checked on the text; only when it is
  over :data:`MAX_DEPTH` are the parser's events counted exactly.
* **Duplicate keys.** ``{a: 1, a: 2}`` silently means ``{a: 2}`` to PyYAML;
  ``kubectl apply`` refuses it (strict decoding), so do we, naming the line.
  Keys brought in by a merge (``<<: *base``) may still be overridden.

Loading keeps libyaml's speed: the checks add a few C-speed string scans to
normal input; nodes are only walked for documents that hold an anchor.

Timestamps stay strings (``2024-01-01`` is a label value, not a ``date``),
as in the API server's YAML-to-JSON step.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gitward.errors import GitwardError

E = TypeVar("E", bound=GitwardError)

MAX_ALIASES = 10_000
"""Alias uses (``*name``) allowed in one document."""

MAX_EXPANDED = 16 * 1024 * 1024
"""Largest expanded size of one document: nodes plus scalar characters."""

MAX_DEPTH = 512
"""Deepest nesting of collections in one document, aliases expanded."""

_DROPPED_TAGS = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value"}

# libyaml's parser when PyYAML was built with it: ten times faster on big streams.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_Base):  # type: ignore[valid-type,misc]
    """SafeLoader that refuses duplicate keys and leaves timestamps as strings."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        written = node.value
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        # Resolving merge keys deletes them from this very list and gives the
        # node a new one, so ``written`` now holds exactly the keys written
        # here. Without merges, fewer entries than keys means a duplicate.
        if len(mapping) != len(written) or node.value is not written:
            _refuse_duplicates(self, written, deep=deep)
        return mapping


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _refuse_duplicates(loader: StrictLoader, pairs: list[tuple[Node, Node]], *, deep: bool) -> None:
    """Raise on the second of two written keys that construct to the same value."""
    seen: dict[Any, Node] = {}
    for key_node, _ in pairs:
        key = loader.construct_object(key_node, deep=deep)
        try:
            first = seen.setdefault(key, key_node)
        except TypeError:
            continue  # unhashable: the constructor has already said so
        if first is not key_node:
            raise ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first on line {first.start_mark.line + 1})",
                key_node.start_mark,
            )


@dataclass(frozen=True, slots=True)
class Document:
    """One document of a stream: the line it starts on, its node graph and its value."""

    line: int
    node: Node
    data: Any


def yaml_error(subject: str, exc: yaml.YAMLError, *, error: type[E], line_offset: int = 0) -> E:
    """``apps/web/x.yaml:12: mapping values are not allowed here``, chained to ``exc``."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        where = f"{subject}:{mark.line + 1 + line_offset}" if mark is not None else subject
        made = error(f"{where}: {_one_line(problem)}")
    else:
        made = error(f"{subject}: {_one_line(str(exc))}")
    made.__cause__ = exc
    return made


def documents(
    text: str, *, subject: str, error: type[GitwardError], line_offset: int = 0
) -> Iterator[Document]:
    """Each non-empty document of a YAML stream, bounded and strict.

    ``subject`` names the text in errors (raised as ``error``, one line, with
    the line number); ``line_offset`` is added to every line (for text cut
    out of a larger stream).
    """
    _check_depth(text, subject=subject, error=error, line_offset=line_offset)
    may_alias = "&" in text
    loader = StrictLoader(text)
    try:
        while True:
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
                if node is None:
                    continue
                line = node.start_mark.line + 1 + line_offset
                if may_alias and _has_anchor(text, node):
                    _check_expansion(node, where=f"{subject}:{line}", error=error)
                data = loader.construct_document(node)
            except yaml.YAMLError as exc:
                raise yaml_error(subject, exc, error=error, line_offset=line_offset) from exc
            yield Document(line=line, node=node, data=data)
    finally:
        loader.dispose()


def load_single(text: str, *, subject: str, error: type[GitwardError]) -> Document | None:
    """The one document of a file (``None`` when it is empty)."""
    docs = list(documents(text, subject=subject, error=error))
    if len(docs) > 1:
        raise error(f"{subject}: holds {len(docs)} YAML documents; expected one")
    return docs[0] if docs else None


# -- bounds


# Block collections nest by starting further right (or, for a sequence under a
# mapping key, at the same column once), so a document whose lines all start
# with fewer than N indentation/indicator characters nests blocks at most 2N
# deep; flow collections add at most one level per bracket.
_PREFIX = rf"[ \t?:-]{{{MAX_DEPTH // 4}}}"
# "\n" first rather than "^" with MULTILINE: a literal first character lets
# the regex engine skip ahead, five times faster. Other line breaks YAML knows
# are rare; when present, the slower pattern runs.
_DEEP_PREFIX = re.compile("\n" + _PREFIX)
_DEEP_PREFIX_ANY_BREAK = re.compile("[\r\n\x85\u2028\u2029]" + _PREFIX)
_OTHER_BREAKS = ("\r", "\x85", "\u2028", "\u2029")
# Where libyaml ends a document whatever it is inside of (a column-0 marker).
# Missing one (after another kind of line break) only makes the bound looser.
_DOCUMENT_START = re.compile(r"\n(?:---|\.\.\.)(?=[ \t\r\n]|$)")


def _deep_prefix(text: str) -> bool:
    """Whether a line of ``text`` starts with enough indentation to nest too deep."""
    lines = "\n" + text
    if any(brk in text for brk in _OTHER_BREAKS):
        return _DEEP_PREFIX_ANY_BREAK.search(lines) is not None
    return _DEEP_PREFIX.search(lines) is not None


def _flow_bound(text: str) -> int:
    """The most brackets any one document of ``text`` holds: a bound on its flow nesting."""
    if text.count("[") + text.count("{") < MAX_DEPTH // 4:
        return 0
    bound, start = 0, 0
    for marker in [*_DOCUMENT_START.finditer(text), None]:
        end = len(text) if marker is None else marker.start()
        bound = max(bound, text.count("[", start, end) + text.count("{", start, end))
        start = end
    return bound


def _check_depth(text: str, *, subject: str, error: type[GitwardError], line_offset: int) -> None:
    if not _deep_prefix(text) and _flow_bound(text) < MAX_DEPTH // 4:
        return
    # The cheap bound does not rule it out: count the parser's events, which
    # libyaml produces without recursing.
    parser = StrictLoader(text)
    depth = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    where = f"{subject}:{mark.line + 1 + line_offset}" if mark else subject
                    raise error(f"{where}: collections nested more than {MAX_DEPTH} deep")
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # the real parse reports it, at the same place
    finally:
        parser.dispose()


def _has_anchor(text: str, node: Node) -> bool:
    """Whether the text of ``node``'s document can hold an anchor.

    An anchor is ``&name`` where a node may start: at a line start, after
    whitespace or a flow indicator. One inside quoted text is a false alarm
    (the walk just runs); ``a&b`` in a URL and ``&&`` in a shell line are not
    anchors and cost one ``find`` each.
    """
    end = node.end_mark.index
    at = text.find("&", node.start_mark.index, end)
    while at != -1:
        before = text[at - 1] if at else "\n"
        after = text[at + 1 : at + 2]
        if before in _NODE_START and (after.isalnum() or after in ("_", "-")):
            return True
        at = text.find("&", at + 1, end)
    return False


_NODE_START = frozenset(" \t\r\n[{,")


def _check_expansion(root: Node, *, where: str, error: type[GitwardError]) -> None:
    """Refuse a document whose aliases expand beyond the bounds; each node is visited once."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_: set[int] = set()
    aliases = 0
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_.discard(key)
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[key] > MAX_EXPANDED:
                raise error(
                    f"{where}: aliases expand the document past {MAX_EXPANDED // 2**20} MiB"
                )
            if depth[key] > MAX_DEPTH:
                raise error(f"{where}: aliases nest the document more than {MAX_DEPTH} deep")
            continue
        if key in size:
            aliases += 1
            if aliases > MAX_ALIASES:
                raise error(f"{where}: more than {MAX_ALIASES} aliases in one document")
            continue
        if key in open_:
            raise error(f"{where}: an alias refers to a collection that contains it")
        if isinstance(node, ScalarNode):
            size[key] = 1 + len(node.value)
            depth[key] = 0
            continue
        open_.add(key)
        stack.append((node, True))
        stack.extend((kid, False) for kid in _children(node))


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


_SPACE = re.compile(r"\s+")


def _one_line(text: str) -> str:
    return _SPACE.sub(" ", text).strip()
