"""A readable unified diff between two normalized bodies."""

from __future__ import annotations

import difflib
from typing import cast

import yaml

from gitward.objects import Body, ObjectRef
from gitward.plan import normalize


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def block_text_dumper(base: type[yaml.SafeDumper]) -> type[yaml.SafeDumper]:
    """``base`` writing multi-line strings (scripts, config files in a ConfigMap) as block
    text, so a diff shows the lines that changed rather than one long quoted string."""
    dumper = cast(type[yaml.SafeDumper], type("BlockTextDumper", (base,), {}))
    dumper.add_representer(str, _str)
    return dumper


_Dumper = block_text_dumper(yaml.SafeDumper)


def to_yaml(body: Body | None, *, dumper: type[yaml.SafeDumper] = _Dumper) -> str:
    if body is None:
        return ""
    text: str = yaml.dump(body, Dumper=dumper, sort_keys=True, default_flow_style=False, width=1000)
    return text


def unified(live: Body | None, desired: Body | None, *, label: str, context: int = 3) -> str:
    """``--- live/<label>`` / ``+++ desired/<label>``; empty when equal."""
    a = to_yaml(live).splitlines(keepends=True)
    b = to_yaml(desired).splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(a, b, fromfile=f"live/{label}", tofile=f"desired/{label}", n=context)
    )


def masked_diff(old: Body | None, new: Body | None, ignore: tuple[str, ...], ref: ObjectRef) -> str:
    """The diff a user sees: normalised bodies, ignored fields out, Secret values masked."""
    shown_old, shown_new = normalize.mask_secrets(
        normalize.normalize(old, ignore=ignore) if old is not None else None,
        normalize.normalize(new, ignore=ignore) if new is not None else None,
    )
    return unified(shown_old, shown_new, label=str(ref))
