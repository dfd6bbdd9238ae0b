"""What rendering an app produces: its objects and, for Helm, the charts it pulled.

Results are data: frozen, comparable and serialisable to JSON (the render
cache stores them that way, and ``--output json`` can print them as-is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitward.config.apps import SourceKind
from gitward.objects import Manifest


@dataclass(frozen=True)
class ChartDependency:
    """One subchart of an umbrella chart, as resolved for this render.

    ``version`` is the locked (resolved) version when one is known, else the
    version the chart asks for. ``digest`` is ``sha256:<hex>`` of the built
    ``.tgz`` in ``charts/``, or ``None`` when no archive was built for it.
    ``commit`` is the code commit the chart was built from, when the chart
    says so (``gitward ci`` writes it as the annotation ``gitward.io/commit``),
    and ``source`` the code repository it names (``gitward.io/source``).
    """

    name: str
    alias: str
    version: str
    repository: str
    digest: str | None = None
    commit: str = ""
    source: str = ""

    @property
    def label(self) -> str:
        """``name@version``, and the code commit it was built from when known."""
        built = f" (commit {self.commit[:12]})" if self.commit else ""
        return f"{self.name}@{self.version}{built}"

    @property
    def key(self) -> str:
        """The values key of this subchart: its alias, else its name."""
        return self.alias or self.name

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "alias": self.alias,
            "version": self.version,
            "repository": self.repository,
            "digest": self.digest,
            "commit": self.commit,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChartDependency:
        digest = data.get("digest")
        return cls(
            name=str(data["name"]),
            alias=str(data["alias"]),
            version=str(data["version"]),
            repository=str(data["repository"]),
            digest=None if digest is None else str(digest),
            commit=str(data.get("commit") or ""),
            source=str(data.get("source") or ""),
        )


@dataclass(frozen=True)
class Rendered:
    """Every object one app renders to, in render order."""

    kind: SourceKind
    manifests: tuple[Manifest, ...]
    charts: tuple[ChartDependency, ...] = ()
    # Repo-relative files and directories the render read: a commit that
    # changes none of them cannot change what the app renders.
    inputs: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "manifests": [{"source": m.source, "body": m.body} for m in self.manifests],
            "charts": [c.to_json() for c in self.charts],
            "inputs": list(self.inputs),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rendered:
        return cls(
            kind=SourceKind(data["kind"]),
            manifests=tuple(
                Manifest(body=dict(m["body"]), source=str(m["source"])) for m in data["manifests"]
            ),
            charts=tuple(ChartDependency.from_json(c) for c in data["charts"]),
            inputs=tuple(str(i) for i in data.get("inputs", ())),
        )
