"""``helm dependency build`` (or ``update``) in the scratch copy, with its archives cached.

From the lock, ``build`` downloads exactly the pinned versions, so its result
is kept in a :class:`~gitward.render.cache.ChartCache` keyed by everything
the build reads (the lock, ``Chart.yaml``, ``requirements.yaml``,
``charts/`` and the ``file://`` trees): an unchanged lock is never
downloaded twice. Helm's own content cache does not help here: charts from
classic repositories are fetched by URL without a digest and never written
back to it. Without a lock, ``update`` resolves the ranges, and its result
may change as repositories publish: it is never cached.

Each chart a build downloaded is also kept on its own, in an
:class:`~gitward.render.cache.ArchiveCache` keyed by repository, name and
version, so umbrellas that share a chart version (not their whole lock)
download it once: when every chart a lock pins is there, and helm's own
lock digest holds, the archives are copied in and helm is not started.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitward.errors import RenderError
from gitward.render.cache import ArchiveCache, ChartCache, Fingerprint
from gitward.render.documents import load_single
from gitward.render.helm import binary
from gitward.render.helm.binary import helm_identity
from gitward.render.helm.charts import Dependency, UmbrellaChart
from gitward.render.helm.diagnostics import dependency_error
from gitward.render.helm.lockdigest import lock_digest

_REMOTE = ("oci", "http", "https")


def build_dependencies(
    chart: UmbrellaChart,
    *,
    chart_dir: Path,
    helm: str,
    env: Mapping[str, str],
    plain: bool,
    local_dirs: Mapping[Dependency, Path],
    timeout: float,
    cache: ChartCache | None = None,
    archives: ArchiveCache | None = None,
) -> None:
    """Fill ``chart_dir/charts`` with the chart's dependencies, from the caches when it can."""
    cache = cache if cache is not None else ChartCache()
    archives = archives if archives is not None else ArchiveCache()
    key = chart_cache_key(chart, plain=plain, local_dirs=local_dirs) if chart.lock else None
    if key is not None and cache.restore(key, chart_dir / "charts"):
        return
    if _from_archives(chart, chart_dir, archives):
        return
    verb = "build" if chart.lock is not None else "update"
    args = [helm, "dependency", verb, str(chart_dir)]
    if plain:
        args.append("--plain-http")
    run = binary.run_helm(
        args, what=f"chart {chart.name}: helm dependency {verb}", timeout=timeout, env=env
    )
    if not run.ok:
        raise dependency_error(chart, run, verb=verb)
    if key is not None:
        cache.store(key, chart_dir / "charts")
        _keep_archives(chart, chart_dir / "charts", archives)


def _from_archives(chart: UmbrellaChart, chart_dir: Path, archives: ArchiveCache) -> bool:
    """Copy every chart the lock pins from ``archives`` into ``charts/``, when a locked
    build would download exactly those and accept the lock; ``False``, and nothing
    written, otherwise (a chart not kept yet, a local or vendored one, archives
    already in ``charts/``, or a lock digest this side cannot confirm)."""
    if chart.lock is None or not chart.dependencies:
        return False
    if any(dep.scheme not in _REMOTE for dep in chart.dependencies):
        return False
    charts = chart_dir / "charts"
    if any(charts.glob("*.tgz")):
        return False
    found: list[tuple[str, Path]] = []
    for entry in chart.lock:
        kept = archives.get(repository=entry.repository, name=entry.name, version=entry.version)
        if kept is None:
            return False
        found.append((f"{entry.name}-{entry.version}.tgz", kept))
    if not _lock_holds(chart, chart_dir):
        return False
    charts.mkdir(exist_ok=True)
    for name, kept in found:
        shutil.copyfile(kept, charts / name)
    return True


def _lock_holds(chart: UmbrellaChart, chart_dir: Path) -> bool:
    """Whether the lock's digest is the one helm computes for the dependency lists."""

    def dependencies_of(filename: str) -> tuple[Any, Any]:
        try:
            text = (chart_dir / filename).read_text(encoding="utf-8")
            doc: Any = load_single(text, subject=chart.where(filename))
        except (OSError, UnicodeDecodeError, RenderError):
            return None, None
        if not isinstance(doc, dict):
            return None, None
        return doc.get("dependencies"), doc.get("digest")

    requested, _ = dependencies_of(chart.deps_file)
    locked, digest = dependencies_of(chart.lock_file)
    return isinstance(digest, str) and lock_digest(requested, locked) == digest


def _keep_archives(chart: UmbrellaChart, charts: Path, archives: ArchiveCache) -> None:
    """Keep each remote chart the build downloaded, for other umbrellas that pin it."""
    for entry in chart.lock or ():
        archive = charts / f"{entry.name}-{entry.version}.tgz"
        if entry.repository.split("://", 1)[0].lower() in _REMOTE and archive.is_file():
            archives.put(
                archive, repository=entry.repository, name=entry.name, version=entry.version
            )


def chart_cache_key(
    chart: UmbrellaChart, *, plain: bool, local_dirs: Mapping[Dependency, Path]
) -> str:
    """sha256 over everything a dependency build reads, and the helm that runs it."""
    key = Fingerprint()
    key.field("format", "gitward-charts-v2")
    key.field("tool", helm_identity())
    key.field("plain_http", str(plain))
    for name in ("Chart.yaml", "requirements.yaml", chart.lock_file):
        key.tree(name, chart.app_dir / name)
    key.tree("charts", chart.app_dir / "charts")
    for dep, path in local_dirs.items():
        key.tree(dep.repository, path)
    return key.hexdigest()
