"""The dev environment's state directory and its state file, ``dev.json``.

The file records what ``dev up`` started (ports, PIDs) and, once a forge
runs, its users' tokens: it is written readable by its owner only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def state_dir() -> Path:
    env = os.environ.get("GITWARD_STATE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "gitward"


def state_file() -> Path:
    return state_dir() / "dev.json"


def read() -> dict[str, Any] | None:
    """The state file's document, or ``None`` when there is none (or it does not decode)."""
    try:
        doc = json.loads(state_file().read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def write(doc: dict[str, Any]) -> None:
    """Replace the state file atomically, mode 0600 from its first byte."""
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(doc, indent=2))
    os.replace(tmp, path)


def remove() -> None:
    state_file().unlink(missing_ok=True)
