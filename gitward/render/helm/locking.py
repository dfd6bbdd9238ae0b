"""Writing an umbrella chart's lock anew after its dependency versions changed.

``helm dependency update`` resolves every dependency against its repository
and writes the lock; it runs in a scratch copy (as every helm run does, see
:mod:`.paths`), and only the lock comes back into the checkout, so no
downloaded archive lands in the repository by accident. A version the
repository does not publish fails here, naming the chart and the version.

The archives helm downloaded are read for their ``Chart.yaml`` (its
annotations say which code commits a chart version was built from), before
the scratch copy goes.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gitward import repofiles
from gitward.errors import RenderError
from gitward.render.documents import load_single
from gitward.render.helm import binary
from gitward.render.helm.binary import (
    DEFAULT_TIMEOUT,
    helm_env,
    helm_home,
    helm_path,
    plain_http,
    repositories_yaml,
)
from gitward.render.helm.charts import Dependency, UmbrellaChart
from gitward.render.helm.dependencies import build_dependencies
from gitward.render.helm.diagnostics import dependency_error
from gitward.render.helm.paths import local_chart_dirs, mirror

# A Chart.yaml inside an archive is small; one that is not is not read.
_CHART_YAML_LIMIT = 1 << 20


@dataclass(frozen=True)
class LockedChart:
    """A dependency as the new lock pins it, with its own Chart.yaml annotations."""

    name: str
    version: str
    annotations: dict[str, str] = field(default_factory=dict)


@contextmanager
def _scratch(
    chart: UmbrellaChart, *, root: Path
) -> Iterator[tuple[Path, Path, dict[Dependency, Path]]]:
    """``(chart_dir, repositories.yaml, local chart dirs)``: a scratch copy of ``chart``
    and the repositories its dependencies come from, gone when the block ends."""
    root = repofiles.real(root)
    repofiles.check_tree(chart.app_dir, root=root, label=chart.label, error=RenderError)
    local_dirs = local_chart_dirs(chart, root=root)
    home = helm_home()
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gitward-lock-") as tmp:
        scratch = Path(tmp)
        chart_dir = mirror(chart, local_dirs, root=root, into=scratch / "tree")
        repo_config = scratch / "repositories.yaml"
        repo_config.write_text(repositories_yaml(chart.dependencies))
        yield chart_dir, repo_config, local_dirs


def update_lock(
    chart: UmbrellaChart, *, root: Path, timeout: float = DEFAULT_TIMEOUT
) -> tuple[LockedChart, ...]:
    """Resolve ``chart``'s dependencies and write its lock file in place."""
    with _scratch(chart, root=root) as (chart_dir, repo_config, _):
        shutil.rmtree(chart_dir / "charts", ignore_errors=True)
        args = [helm_path(), "dependency", "update", str(chart_dir)]
        if plain_http(chart):
            args.append("--plain-http")
        run = binary.run_helm(
            args,
            what=f"chart {chart.name}: helm dependency update",
            timeout=timeout,
            env=helm_env(repository_config=repo_config),
        )
        if not run.ok:
            # The lock is what is being replaced: name the version asked for, not the old one.
            raise dependency_error(replace(chart, lock=None), run, verb="update")
        written = chart_dir / chart.lock_file
        if not written.is_file():
            raise RenderError(f"chart {chart.name}: helm wrote no {chart.lock_file}")
        shutil.copyfile(written, chart.app_dir / chart.lock_file)
        return _locked(chart, chart_dir)


def locked_charts(
    chart: UmbrellaChart, *, root: Path, timeout: float = DEFAULT_TIMEOUT
) -> tuple[LockedChart, ...]:
    """The charts ``chart``'s lock pins as it stands, with their annotations (a build, cached)."""
    if chart.lock is None:
        return ()
    with _scratch(chart, root=root) as (chart_dir, repo_config, local_dirs):
        build_dependencies(
            chart,
            chart_dir=chart_dir,
            helm=helm_path(),
            env=helm_env(repository_config=repo_config),
            plain=plain_http(chart),
            local_dirs=local_dirs,
            timeout=timeout,
        )
        return _locked(chart, chart_dir)


def _locked(chart: UmbrellaChart, chart_dir: Path) -> tuple[LockedChart, ...]:
    doc = load_single(
        (chart_dir / chart.lock_file).read_text(encoding="utf-8"),
        subject=chart.where(chart.lock_file),
    )
    out: list[LockedChart] = []
    for entry in (doc or {}).get("dependencies") or [] if isinstance(doc, dict) else []:
        if not isinstance(entry, dict):
            continue
        name, version = str(entry.get("name") or ""), str(entry.get("version") or "")
        archive = chart_dir / "charts" / f"{name}-{version}.tgz"
        out.append(LockedChart(name=name, version=version, annotations=chart_annotations(archive)))
    return tuple(out)


def chart_annotations(archive: Path) -> dict[str, str]:
    """``annotations`` of the chart's own ``Chart.yaml`` in a packaged chart (``{}`` if none)."""
    if not archive.is_file():
        return {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = next(
                (m for m in tar.getmembers() if m.isfile() and m.name.count("/") == 1
                 and m.name.endswith("/Chart.yaml")),
                None,
            )  # fmt: skip
            if member is None or member.size > _CHART_YAML_LIMIT:
                return {}
            handle = tar.extractfile(member)
            text = handle.read().decode("utf-8", errors="replace") if handle else ""
    except (OSError, tarfile.TarError):
        return {}
    try:
        doc: Any = load_single(text, subject=f"{archive.name}/Chart.yaml")
    except RenderError:
        return {}
    annotations = doc.get("annotations") if isinstance(doc, dict) else None
    if not isinstance(annotations, dict):
        return {}
    return {str(k): str(v) for k, v in annotations.items()}
