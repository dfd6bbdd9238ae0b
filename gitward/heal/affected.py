"""Which apps a new commit touches: their path, their local charts, or gitward.yaml."""

from __future__ import annotations

import posixpath
from pathlib import Path

import yaml

from gitward.config.apps import AppSpec
from gitward.config.loader import FILENAME


def inputs_of(app: AppSpec, root: Path) -> tuple[str, ...]:
    """Repo-relative paths whose change can change what ``app`` renders."""
    paths = [app.path]
    app_dir = root / app.path
    for name in ("Chart.yaml", "requirements.yaml"):
        try:
            doc = yaml.safe_load((app_dir / name).read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue
        for dep in doc.get("dependencies") or []:
            repo = str((dep or {}).get("repository", ""))
            if repo.startswith("file://"):
                paths.append(posixpath.normpath(posixpath.join(app.path, repo[len("file://") :])))
    paths.extend(posixpath.normpath(posixpath.join(app.path, f)) for f in app.values_files)
    return tuple(paths)


def is_affected(app: AppSpec, root: Path, changed: frozenset[str]) -> bool:
    if FILENAME in changed:
        return True
    for prefix in inputs_of(app, root):
        for path in changed:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return True
    return False
