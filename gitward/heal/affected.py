"""Which apps a new commit touches: what their last render read, their path, their
local charts and values files, or gitward.yaml."""

from __future__ import annotations

import posixpath
from pathlib import Path

from gitward import repofiles, yamlload
from gitward.config.apps import AppSpec
from gitward.config.loader import FILENAME
from gitward.errors import ConfigError, GitwardError


def inputs_of(app: AppSpec, root: Path) -> tuple[str, ...]:
    """Repo-relative paths whose change can change what ``app`` renders."""
    paths = [app.path]
    app_dir = root / app.path
    for name in ("Chart.yaml", "requirements.yaml"):
        try:
            text = repofiles.read_text(
                app_dir / name, root=repofiles.real(root), subject=name, error=ConfigError
            )
            loaded = yamlload.load_single(text, subject=name, error=ConfigError)
        except GitwardError:
            continue  # a bad chart fails its render, which names the file
        doc = loaded.data if loaded is not None and isinstance(loaded.data, dict) else {}
        deps = doc.get("dependencies")
        for dep in deps if isinstance(deps, list) else []:
            repo = str(dep.get("repository", "")) if isinstance(dep, dict) else ""
            if repo.startswith("file://"):
                paths.append(posixpath.normpath(posixpath.join(app.path, repo[len("file://") :])))
    paths.extend(posixpath.normpath(posixpath.join(app.path, f)) for f in app.values_files)
    return tuple(paths)


def is_affected(
    app: AppSpec, root: Path, changed: frozenset[str], *, also: tuple[str, ...] = ()
) -> bool:
    """Whether a commit that changed ``changed`` can change what ``app`` renders.

    ``also`` are the paths the app's last render read (kustomize bases and
    components outside its directory, say): a change to, rename or removal of
    any of them affects the app as well.
    """
    if FILENAME in changed:
        return True
    for prefix in (*inputs_of(app, root), *also):
        for path in changed:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return True
    return False
