"""Loads the live objects under ``tests/fixtures/health`` (one per kind and state)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import yaml

from gitward.objects import Body

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "health"


def load(name: str) -> Body:
    """The object in ``tests/fixtures/health/<name>.yaml``."""
    with (FIXTURES / f"{name}.yaml").open(encoding="utf-8") as stream:
        body: Any = yaml.safe_load(stream)
    assert isinstance(body, dict), f"{name}.yaml: not a single object"
    return cast(Body, body)
