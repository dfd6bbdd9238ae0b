"""Changing one value in a YAML file and nothing else: comments, order and quoting stay.

A promotion is reviewed as a diff, so it must be the one line it means. The
file is composed (not loaded) to find the value's node, and only the text
between the node's start and end marks is replaced, in the quoting style the
value already had. Anything that is not where it is expected is a
:class:`PromoteInputError` naming the file.
"""

from __future__ import annotations

import json

import yaml

from gitward.promote.errors import PromoteInputError


def _compose(text: str, *, subject: str) -> yaml.Node | None:
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise PromoteInputError(f"{subject}: not valid YAML: {e}") from e
    return node


def _value(mapping: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(mapping, yaml.MappingNode):
        return None
    for k, v in mapping.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.Node):
            return v
    return None


def _replace(text: str, node: yaml.ScalarNode, value: str) -> str:
    style = node.style
    if style == "'":
        spelled = "'" + value.replace("'", "''") + "'"
    elif style == '"' or not isinstance(yaml.safe_load(value or "''"), str):
        # A plain 1.10 or 0123 would read back as a number.
        spelled = json.dumps(value)
    else:
        spelled = value
    return text[: node.start_mark.index] + spelled + text[node.end_mark.index :]


def dependency_versions(text: str, *, chart: str, subject: str) -> list[str]:
    """The versions ``dependencies:`` asks for ``chart`` at (one per entry naming it)."""
    return [node.value for node in _dependency_nodes(text, chart=chart, subject=subject)]


def set_dependency_version(text: str, *, chart: str, version: str, subject: str) -> str:
    """``text`` with every ``dependencies:`` entry named ``chart`` asking for ``version``."""
    # From the end, so earlier marks stay valid.
    nodes = sorted(
        _dependency_nodes(text, chart=chart, subject=subject),
        key=lambda n: n.start_mark.index,
        reverse=True,
    )
    for node in nodes:
        text = _replace(text, node, version)
    return text


def _dependency_nodes(text: str, *, chart: str, subject: str) -> list[yaml.ScalarNode]:
    root = _compose(text, subject=subject)
    deps = _value(root, "dependencies")
    if not isinstance(deps, yaml.SequenceNode):
        return []
    out: list[yaml.ScalarNode] = []
    for item in deps.value:
        name = _value(item, "name")
        if not (isinstance(name, yaml.ScalarNode) and name.value == chart):
            continue
        version = _value(item, "version")
        if not isinstance(version, yaml.ScalarNode):
            line = name.start_mark.line + 1
            raise PromoteInputError(f"{subject}:{line}: dependency {chart} has no version")
        out.append(version)
    return out


def _at(root: yaml.Node | None, key: str) -> yaml.Node | None:
    node = root
    for part in key.split("."):
        node = _value(node, part)
    return node


def image_tag(text: str, *, subject: str, key: str = "image.tag") -> str | None:
    """The image tag at ``key`` (a dotted path) of a values file, if it has one."""
    node = _at(_compose(text, subject=subject), key)
    return node.value if isinstance(node, yaml.ScalarNode) else None


def set_image_tag(text: str, *, tag: str, subject: str, key: str = "image.tag") -> str:
    """``text`` with the value at ``key`` set to ``tag``; the file must already have one."""
    node = _at(_compose(text, subject=subject), key)
    if not isinstance(node, yaml.ScalarNode):
        *parents, last = key.split(".")
        shape = "".join(f"{p}: {{" for p in parents) + f"{last}: ..." + "}" * len(parents)
        raise PromoteInputError(
            f"{subject}: has no {key} to set; add one ({shape}) so the image tag "
            "knows where it goes"
        )
    return _replace(text, node, tag)
