"""A readable unified diff between two normalized bodies."""

from __future__ import annotations

import difflib

import yaml

from gitward.objects import Body


def to_yaml(body: Body | None) -> str:
    if body is None:
        return ""
    return yaml.safe_dump(body, sort_keys=True, default_flow_style=False, width=1000)


def unified(live: Body | None, desired: Body | None, *, label: str, context: int = 3) -> str:
    """``--- live/<label>`` / ``+++ desired/<label>``; empty when equal."""
    a = to_yaml(live).splitlines(keepends=True)
    b = to_yaml(desired).splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(a, b, fromfile=f"live/{label}", tofile=f"desired/{label}", n=context)
    )
