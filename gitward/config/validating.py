"""YAML checked against a JSON Schema, with errors that name the file and the line."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from gitward import yamlload
from gitward.errors import ConfigError


def line_of(node: yaml.Node | None, path: Iterable[str | int]) -> int | None:
    """1-based line of the YAML node at ``path`` (as jsonschema reports it)."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def check_schema(
    doc: Any,
    node: yaml.Node | None,
    *,
    schema: Mapping[str, Any],
    filename: str,
    name_extra_key: bool = False,
) -> None:
    """Raise :class:`ConfigError` for the first violation, at its line.

    With ``name_extra_key``, a key the schema does not allow is pointed at
    itself rather than at the mapping holding it.
    """
    import jsonschema  # a tenth of a short command's start: imported when a file is checked

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return
    err = errors[0]
    line = line_of(node, deque(err.absolute_path))
    extra_key = err.validator == "additionalProperties" and isinstance(err.instance, dict)
    if name_extra_key and extra_key:
        allowed = set(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in allowed]
        line = line_of(node, deque([*err.absolute_path, extra[0]])) if extra else line
    where = f":{line}" if line else ""
    field = ".".join(str(p) for p in err.absolute_path) or "(top level)"
    raise ConfigError(f"{filename}{where}: {field}: {err.message}")


def load_checked(
    text: str, *, filename: str, schema: Mapping[str, Any], name_extra_key: bool = False
) -> tuple[yaml.Node | None, Any]:
    """One YAML document (strictly loaded) that the schema accepts: its node and its data."""
    loaded = yamlload.load_single(text, subject=filename, error=ConfigError)
    node = loaded.node if loaded is not None else None
    doc: Any = loaded.data if loaded is not None else None
    check_schema(doc, node, schema=schema, filename=filename, name_extra_key=name_extra_key)
    return node, doc
