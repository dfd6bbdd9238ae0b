"""The umbrella chart as it declares itself, and whether its lock pins what it asks for.

Read before helm runs, so a bad chart is named with its file and a lock out of
step names the chart and the command that fixes it: helm only says "the lock
file is out of sync".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from gitward import repofiles
from gitward.errors import RenderError
from gitward.render.directory import read_text
from gitward.render.documents import load_single

_EXACT_VERSION = re.compile(r"^[v=]?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


@dataclass(frozen=True)
class Dependency:
    """One entry of the dependency list, as the chart declares it."""

    name: str
    version: str
    repository: str
    alias: str = ""
    condition: str = ""
    tags: tuple[str, ...] = ()

    @classmethod
    def from_doc(cls, item: dict[str, Any]) -> Dependency:
        tags = item.get("tags") or ()
        return cls(
            name=str(item["name"]),
            version=_text(item, "version"),
            repository=_text(item, "repository"),
            alias=_text(item, "alias"),
            condition=_text(item, "condition"),
            tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (str(tags),),
        )

    @property
    def key(self) -> str:
        """The values key (and values file stem) of this subchart."""
        return self.alias or self.name

    @property
    def scheme(self) -> str:
        """``""`` (vendored in ``charts/``), ``file``, ``oci``, ``http`` or ``https``."""
        return self.repository.split("://", 1)[0].lower() if "://" in self.repository else ""


@dataclass(frozen=True)
class LockEntry:
    """One chart of the lock: exactly which version came from where."""

    name: str
    version: str
    repository: str

    @classmethod
    def from_doc(cls, item: dict[str, Any]) -> LockEntry:
        return cls(
            name=str(item["name"]),
            version=_text(item, "version"),
            repository=_text(item, "repository"),
        )


@dataclass(frozen=True)
class UmbrellaChart:
    """What gitward reads from an umbrella chart before running helm."""

    app_dir: Path
    label: str
    name: str
    api_version: str
    dependencies: tuple[Dependency, ...]
    deps_file: str
    lock_file: str
    lock: tuple[LockEntry, ...] | None
    lock_digest: str | None

    def where(self, filename: str) -> str:
        return join(self.label, filename)

    @property
    def cacheable(self) -> bool:
        """A render is reproducible from the checkout alone: locked, or nothing remote."""
        return self.lock is not None or all(d.scheme in ("", "file") for d in self.dependencies)


def read_chart(*, app_dir: Path, label: str, root: Path | None = None) -> UmbrellaChart:
    """Parse ``Chart.yaml``, the dependency list and the lock; validate what helm won't.

    Each must resolve inside the checkout ``root`` (default: ``app_dir``).
    """
    root = repofiles.real(root if root is not None else app_dir)

    def _mapping_file(path: Path, *, subject: str) -> dict[str, Any] | None:
        return _mapping_file_in(path, root=root, subject=subject)

    chart_yaml = _mapping_file(app_dir / "Chart.yaml", subject=join(label, "Chart.yaml"))
    if chart_yaml is None:
        raise RenderError(f"{join(label, 'Chart.yaml')}: is empty")
    api_version = str(chart_yaml.get("apiVersion") or "v1")
    name = str(chart_yaml.get("name") or "")
    if not name:
        raise RenderError(f"{join(label, 'Chart.yaml')}: has no name")
    if api_version == "v1":
        deps_file, lock_file = "requirements.yaml", "requirements.lock"
        declared = _mapping_file(app_dir / deps_file, subject=join(label, deps_file)) or {}
    else:
        deps_file, lock_file = "Chart.yaml", "Chart.lock"
        declared = chart_yaml
    dependencies = dependency_list(
        declared.get("dependencies"),
        subject=join(label, deps_file),
        what="dependency",
        entry=Dependency.from_doc,
    )
    lock_data = _mapping_file(app_dir / lock_file, subject=join(label, lock_file))
    lock: tuple[LockEntry, ...] | None = None
    lock_digest: str | None = None
    if (app_dir / lock_file).exists():
        lock_data = lock_data or {}
        lock = lock_entries(lock_data, subject=join(label, lock_file))
        lock_digest = str(lock_data.get("digest") or "") or None
    chart = UmbrellaChart(
        app_dir=app_dir,
        label=label,
        name=name,
        api_version=api_version,
        dependencies=dependencies,
        deps_file=deps_file,
        lock_file=lock_file,
        lock=lock,
        lock_digest=lock_digest,
    )
    for dep in dependencies:
        _check_repository(chart, dep)
    return chart


def _mapping_file_in(path: Path, *, root: Path, subject: str) -> dict[str, Any] | None:
    if not path.exists() and not path.is_symlink():
        return None
    data = load_single(read_text(path, root=root, subject=subject), subject=subject)
    if data is None:
        return None
    if not isinstance(data, dict):
        raise RenderError(f"{subject}:1: expected a mapping, found a {type(data).__name__}")
    return data


EntryT = TypeVar("EntryT")


def dependency_list(
    raw: Any, *, subject: str, what: str, entry: Callable[[dict[str, Any]], EntryT]
) -> tuple[EntryT, ...]:
    """The ``dependencies`` list of a chart or a lock: each item a mapping with a name."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise RenderError(f"{subject}: dependencies must be a list")
    out: list[EntryT] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not item.get("name"):
            raise RenderError(f"{subject}: {what} {index + 1} has no name")
        out.append(entry(item))
    return tuple(out)


def lock_entries(lock: dict[str, Any], *, subject: str) -> tuple[LockEntry, ...]:
    """The charts a lock file (``requirements.lock``/``Chart.lock``) pins."""
    return dependency_list(
        lock.get("dependencies"),
        subject=subject,
        what="locked dependency",
        entry=LockEntry.from_doc,
    )


def _text(item: dict[str, Any], name: str) -> str:
    return str(item.get(name) or "")


def _check_repository(chart: UmbrellaChart, dep: Dependency) -> None:
    where = chart.where(chart.deps_file)
    repo = dep.repository
    if repo.startswith(("@", "alias:")):
        raise RenderError(
            f"{where}: chart {dep.name}: repository {repo!r} names a repository from helm's "
            "own configuration, which gitward does not read; use the repository's URL"
        )
    if dep.scheme not in ("", "file", "oci", "http", "https"):
        raise RenderError(
            f"{where}: chart {dep.name}: repository {repo!r} is not an https://, http://, "
            "oci:// or file:// URL"
        )


def check_lock(chart: UmbrellaChart) -> None:
    """Fail, naming the chart, when the lock does not pin what the chart asks for.

    Ranges (``~1.2``) are left to helm's own digest check; exact versions,
    repositories and the set of charts are compared here.
    """
    if chart.lock is None:
        return
    where = chart.where(chart.lock_file)
    hint = "run 'helm dependency update'"
    unused = list(chart.lock)
    for dep in chart.dependencies:
        entry = next((e for e in unused if e.name == dep.name), None)
        if entry is None:
            raise RenderError(
                f"{where}: chart {dep.name} is not locked but {chart.deps_file} asks for it; {hint}"
            )
        unused.remove(entry)
        if norm_url(entry.repository) != norm_url(dep.repository):
            raise RenderError(
                f"{where}: chart {dep.name} is locked from {entry.repository or '(none)'} "
                f"but {chart.deps_file} asks for {dep.repository or '(none)'}; {hint}"
            )
        if _EXACT_VERSION.match(dep.version) and norm_version(dep.version) != norm_version(
            entry.version
        ):
            raise RenderError(
                f"{where}: chart {dep.name} is locked at {entry.version} "
                f"but {chart.deps_file} asks for {dep.version}; {hint}"
            )
    for entry in unused:
        raise RenderError(
            f"{where}: chart {entry.name} is locked but {chart.deps_file} no longer asks for it; "
            f"{hint}"
        )


def locked_version(chart: UmbrellaChart, dep: Dependency) -> str:
    """The version the lock pins ``dep`` at, else the version the chart asks for."""
    for entry in chart.lock or ():
        if entry.name == dep.name and norm_url(entry.repository) == norm_url(dep.repository):
            return entry.version
    return dep.version


def norm_url(url: str) -> str:
    return url.rstrip("/")


def norm_version(version: str) -> str:
    return version.lstrip("v=")


def join(label: str, name: str) -> str:
    """``name`` inside the app dir ``label``, as messages spell it."""
    return name if label in ("", ".") else f"{label}/{name}"
