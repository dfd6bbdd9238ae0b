"""The apps a config repository declares in ``gitward.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from gitward.config.identity import AppId
from gitward.config.verify import VerifyMode


class SourceKind(StrEnum):
    """How an app's path is rendered; detected from the files it holds."""

    HELM = "helm"
    KUSTOMIZE = "kustomize"
    DIRECTORY = "directory"


@dataclass(frozen=True)
class IgnoreRule:
    """Fields another controller owns: left out of diff and apply.

    An empty ``kind``/``name``/``namespace``/``group`` matches any.
    ``json_pointers`` are RFC 6901 pointers (``/spec/replicas``).
    """

    json_pointers: tuple[str, ...]
    group: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class AppSpec:
    name: str
    path: str
    namespace: str
    create_namespace: bool = False
    prune: bool = True
    # An app that renders nothing would prune everything it deployed: only on purpose.
    allow_empty: bool = False
    auto_sync: bool = False
    self_heal: bool = False
    depends_on: tuple[str, ...] = ()
    ignore: tuple[IgnoreRule, ...] = ()
    release_name: str = ""
    values_files: tuple[str, ...] = field(default=())
    environment: str = ""  # gitward.yaml's top-level ``environment``
    source: str = ""  # the repository it was read from, set by whoever opened it
    # The ServiceAccount (in ``namespace``) the app's plan, apply, prune and health
    # reads run as; "" runs them as gitward itself, unless the operator set a default.
    service_account_name: str = ""

    @property
    def release(self) -> str:
        """The Helm release name: ``releaseName`` if set, else the app name."""
        return self.release_name or self.name

    @property
    def id(self) -> AppId:
        return AppId(name=self.name, environment=self.environment, source=self.source)


@dataclass(frozen=True)
class RepoConfig:
    """The whole of ``gitward.yaml``: apps in the order their ``dependsOn`` allows."""

    apps: tuple[AppSpec, ...]
    environment: str = ""
    # ``verify:``: how the repository tightens the operator's verification, and its line.
    verify: VerifyMode | None = None
    verify_line: int = 0

    def app(self, name: str) -> AppSpec | None:
        return next((a for a in self.apps if a.name == name), None)

    def from_source(self, source: str) -> RepoConfig:
        """The same apps, identified as coming from ``source``."""
        return replace(self, apps=tuple(replace(a, source=source) for a in self.apps))
