"""YAML text -> Kubernetes objects, with the file and line of every failure.

Every renderer ends here: plain files, ``kubectl kustomize`` output and
``helm template`` output are all multi-document YAML streams. They are parsed
by :mod:`gitward.yamlload` (bounded, strict, timestamps kept as strings, as
the API server's YAML-to-JSON step does), and every body is passed through
JSON once so that what the cache stores and what a fresh render returns are
the same value. That JSON is also what the API server would receive, so an
object over :data:`MAX_OBJECT_BYTES` is refused here, before any request.

Empty and ``null`` documents are dropped; a ``kind: List`` (``v1/List`` or
any ``*List`` with ``items``) is expanded into its items.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

from gitward import yamlload
from gitward.errors import RenderError
from gitward.objects import Body, Manifest

MAX_OBJECT_BYTES = 3 * 1024 * 1024
"""The API server refuses a request body over 3 MiB, so no object may serialise larger."""


def yaml_error(subject: str, exc: yaml.YAMLError, *, line_offset: int = 0) -> RenderError:
    """``apps/web/x.yaml:12: mapping values are not allowed here``, chained to ``exc``."""
    return yamlload.yaml_error(subject, exc, error=RenderError, line_offset=line_offset)


def iter_documents(text: str, *, subject: str, line_offset: int = 0) -> Iterator[tuple[int, Any]]:
    """Each document of a YAML stream with the 1-based line it starts on.

    ``subject`` names the text in errors; ``line_offset`` is added to every
    line (for text cut out of a larger stream).
    """
    for doc in yamlload.documents(
        text, subject=subject, error=RenderError, line_offset=line_offset
    ):
        yield doc.line, doc.data


def load_single(text: str, *, subject: str) -> Any:
    """The one document of a values file (``None`` when empty)."""
    doc = yamlload.load_single(text, subject=subject, error=RenderError)
    return None if doc is None else doc.data


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
    body, size = _as_json(data, where=where)
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
    if size > MAX_OBJECT_BYTES:
        raise RenderError(
            f"{where}: {body['kind']}/{body['metadata']['name']} is {size / 2**20:.1f} MiB "
            f"as JSON; the API server accepts at most {MAX_OBJECT_BYTES // 2**20} MiB"
        )
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


def _as_json(data: dict[Any, Any], *, where: str) -> tuple[Body, int]:
    """``data`` as the JSON value the API server would get, and that JSON's size in bytes."""
    try:
        text = json.dumps(data, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise RenderError(f"{where}: document cannot be represented as JSON: {exc}") from exc
    body: Body = json.loads(text)
    # A character is at most four bytes of UTF-8: only a large text needs encoding to measure.
    if len(text) * 4 <= MAX_OBJECT_BYTES:
        return body, len(text)
    return body, len(text.encode("utf-8", errors="replace"))


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
