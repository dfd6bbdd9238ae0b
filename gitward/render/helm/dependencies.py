"""``helm dependency build`` (or ``update``) in the scratch copy, with its archives cached.

From the lock, ``build`` downloads exactly the pinned versions, so its result
is kept in a :class:`~gitward.render.cache.ChartCache` keyed by everything
the build reads (the lock, ``Chart.yaml``, ``requirements.yaml``,
``charts/`` and the ``file://`` trees): an unchanged lock is never
downloaded twice. Helm's own content cache does not help here: charts from
classic repositories are fetched by URL without a digest and never written
back to it. Without a lock, ``update`` resolves the ranges, and its result
may change as repositories publish: it is never cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gitward.render.cache import ChartCache, Fingerprint
from gitward.render.helm import binary
from gitward.render.helm.binary import helm_identity
from gitward.render.helm.charts import Dependency, UmbrellaChart
from gitward.render.helm.diagnostics import dependency_error


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
) -> None:
    """Fill ``chart_dir/charts`` with the chart's dependencies, from the cache when it can."""
    cache = cache if cache is not None else ChartCache()
    key = chart_cache_key(chart, plain=plain, local_dirs=local_dirs) if chart.lock else None
    if key is not None and cache.restore(key, chart_dir / "charts"):
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
