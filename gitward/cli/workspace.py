"""From ``--repo``/``--revision`` to a config repo on disk and its apps."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gitward.config.apps import AppSpec, RepoConfig
from gitward.config.loader import load_repo_config
from gitward.errors import ConfigError
from gitward.kube import Kube
from gitward.render import Rendered, render_app
from gitward.render.cache import RenderCache
from gitward.render.decrypting import Decryptor
from gitward.source.commits import Commits
from gitward.source.opening import open_source, source_of
from gitward.source.revisions import Revision


@dataclass(frozen=True)
class Workspace:
    root: Path
    revision: Revision
    config: RepoConfig
    commits: Commits

    def chosen(self, app: str | None) -> tuple[AppSpec, ...]:
        """Every app (``app`` is None), or the one named; an unknown name is an error."""
        if app is None:
            return self.config.apps
        spec = self.config.app(app)
        if spec is None:
            raise ConfigError(f"gitward.yaml: no app named {app!r}")
        return (spec,)


@dataclass(frozen=True)
class OpenedApp:
    workspace: Workspace
    app: AppSpec
    rendered: Rendered


def open_workspace(*, repo: str, revision: str | None) -> Workspace:
    opened = open_source(repo=repo, revision=revision)
    config = load_repo_config(opened.root).from_source(source_of(repo))
    return Workspace(
        root=opened.root, revision=opened.revision, config=config, commits=opened.commits
    )


def render_app_in(ws: Workspace, app: AppSpec, *, decryptor: Decryptor | None = None) -> Rendered:
    return render_app(app=app, root=ws.root, cache=RenderCache(), decryptor=decryptor)


def open_app(*, repo: str, revision: str | None, app: str) -> OpenedApp:
    ws = open_workspace(repo=repo, revision=revision)
    (spec,) = ws.chosen(app)
    return OpenedApp(workspace=ws, app=spec, rendered=render_app_in(ws, spec))


def connect(*, user_agent: str = "gitward") -> Kube:
    from gitward.kube import load_kubeconfig

    path = os.environ.get("KUBECONFIG")
    return Kube.connect(load_kubeconfig(Path(path) if path else None), user_agent=user_agent)
