"""YAML text -> Kubernetes objects, with the file and line of every failure.

Every renderer ends here: plain files, ``kubectl kustomize`` output and
``helm template`` output are all multi-document YAML streams. We parse them
the way the API server's YAML-to-JSON step does, not the way PyYAML does by
default: timestamps stay strings (``2024-01-01`` is a label value, not a
``date``), and every body is passed through JSON once so that what the cache
stores and what a fresh render returns are the same value.

Empty and ``null`` documents are dropped; a ``kind: List`` (``v1/List`` or
any ``*List`` with ``items``) is expanded into its items.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

from gitward.errors import RenderError
from gitward.objects import Body, Manifest

_DROPPED_TAGS = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value"}


# libyaml's parser when PyYAML was built with it: ten times faster on big streams.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """SafeLoader that leaves timestamps (and a bare ``=``) as strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def yaml_error(subject: str, exc: yaml.YAMLError, *, line_offset: int = 0) -> RenderError:
    """``apps/web/x.yaml:12: mapping values are not allowed here``, chained to ``exc``."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        where = f"{subject}:{mark.line + 1 + line_offset}" if mark is not None else subject
        error = RenderError(f"{where}: {_one_line(problem)}")
    else:
        error = RenderError(f"{subject}: {_one_line(str(exc))}")
    error.__cause__ = exc
    return error


def iter_documents(text: str, *, subject: str, line_offset: int = 0) -> Iterator[tuple[int, Any]]:
    """Each document of a YAML stream with the 1-based line it starts on.

    ``subject`` names the text in errors; ``line_offset`` is added to every
    line (for text cut out of a larger stream).
    """
    loader = _Loader(text)
    try:
        while True:
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
                if node is None:
                    continue
                data = loader.construct_document(node)
            except yaml.YAMLError as exc:
                raise yaml_error(subject, exc, line_offset=line_offset) from exc
            yield node.start_mark.line + 1 + line_offset, data
    finally:
        loader.dispose()


def load_single(text: str, *, subject: str) -> Any:
    """The one document of a values file (``None`` when empty)."""
    documents = [data for _, data in iter_documents(text, subject=subject)]
    if len(documents) > 1:
        raise RenderError(f"{subject}: holds {len(documents)} YAML documents; expected one")
    return documents[0] if documents else None


def manifests_from(
    documents: Iterator[tuple[int, Any]] | list[tuple[int, Any]], *, subject: str, source: str
) -> list[Manifest]:
    """Validated objects of ``documents``; ``source`` goes into each ``Manifest``."""
    out: list[Manifest] = []
    for line, data in documents:
        for body in _objects(data, where=f"{subject}:{line}"):
            out.append(Manifest(body=body, source=source))
    return out


def _objects(data: Any, *, where: str) -> list[Body]:
    if data is None:
        return []
    if not isinstance(data, dict):
        raise RenderError(f"{where}: document is a {_kind_of(data)}, not a Kubernetes object")
    body = _as_json(data, where=where)
    kind = body.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(body.get("items"), list):
        out: list[Body] = []
        for index, item in enumerate(body["items"]):
            if item is None:
                continue
            if not isinstance(item, dict):
                raise RenderError(
                    f"{where}: item {index} of the {kind} is a {_kind_of(item)}, "
                    "not a Kubernetes object"
                )
            out.extend(_objects(item, where=f"{where}: item {index} of the {kind}"))
        return out
    missing = _missing_fields(body)
    if missing:
        raise RenderError(f"{where}: object has no {', '.join(missing)}")
    return [body]


def _missing_fields(body: Body) -> list[str]:
    missing = [f for f in ("apiVersion", "kind") if not _nonempty_str(body.get(f))]
    meta = body.get("metadata")
    # generateName names a hook's runs; the plan refuses it on anything else.
    if not isinstance(meta, dict) or not (
        _nonempty_str(meta.get("name")) or _nonempty_str(meta.get("generateName"))
    ):
        missing.append("metadata.name")
    return missing


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _as_json(data: dict[Any, Any], *, where: str) -> Body:
    try:
        body: Body = json.loads(json.dumps(data))
    except (TypeError, ValueError) as exc:
        raise RenderError(f"{where}: document cannot be represented as JSON: {exc}") from exc
    return body


def _kind_of(data: Any) -> str:
    if isinstance(data, list):
        return "list"
    if isinstance(data, str):
        return "string"
    if isinstance(data, bool):
        return "boolean"
    if isinstance(data, int | float):
        return "number"
    return type(data).__name__


_SPACE = re.compile(r"\s+")


def _one_line(text: str) -> str:
    return _SPACE.sub(" ", text).strip()
