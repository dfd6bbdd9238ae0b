"""What a helm render reads from the checkout, and the copy of it that helm works on.

Helm may read any file of a chart it is given (``.Files.Get``), so every
tree copied for it is checked first: nothing may lead out of the checkout
(:mod:`gitward.repofiles`). Helm builds into a scratch copy, never into the
checkout.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from gitward import repofiles
from gitward.errors import RenderError
from gitward.render.helm.charts import Dependency, UmbrellaChart


def local_chart_dirs(chart: UmbrellaChart, *, root: Path) -> dict[Dependency, Path]:
    """The directory each ``file://`` dependency points at; it must be inside ``root``."""
    root = repofiles.real(root)
    out: dict[Dependency, Path] = {}
    for dep in chart.dependencies:
        if dep.scheme != "file":
            continue
        raw = dep.repository[len("file://") :]
        target = Path(os.path.normpath(chart.app_dir / raw))
        where = chart.where(chart.deps_file)
        if not inside(target, root):
            raise RenderError(
                f"{where}: chart {dep.name}: {dep.repository} is outside the repository"
            )
        subject = f"{where}: chart {dep.name}: {dep.repository}"
        target = repofiles.resolve_inside(target, root=root, subject=subject, error=RenderError)
        if not (target / "Chart.yaml").is_file():
            raise RenderError(
                f"{where}: chart {dep.name}: {dep.repository} is not a chart directory "
                f"({rel(target, root)}/Chart.yaml not found)"
            )
        # helm copies and reads the whole chart (templates, .Files.Get).
        repofiles.check_tree(target, root=root, label=rel(target, root), error=RenderError)
        out[dep] = target
    return out


def values_file_paths(values_files: tuple[str, ...], *, app_dir: Path, root: Path) -> list[Path]:
    """The app's ``valuesFiles``, resolved against the app dir; each must exist in the repo."""
    root = repofiles.real(root)
    out: list[Path] = []
    for name in values_files:
        path = Path(os.path.normpath(app_dir / name))
        if not inside(path, root):
            raise RenderError(f"{rel(app_dir, root)}: values file {name} is outside the repository")
        subject = f"{rel(path, root)} (values file)"
        path = repofiles.resolve_inside(path, root=root, subject=subject, error=RenderError)
        if not path.is_file():
            raise RenderError(f"{rel(path, root)}: values file not found")
        out.append(path)
    return out


def mirror(
    chart: UmbrellaChart, local_dirs: Mapping[Dependency, Path], *, root: Path, into: Path
) -> Path:
    """Copy the app dir and its ``file://`` charts to the same relative places under ``into``.

    Each ``file://`` chart goes where its path, read from the app dir, says
    (helm resolves it the same way), whichever in-repo link it was reached
    through. Links are copied as the files they point to: all were checked
    to stay inside the checkout.
    """
    app_dir = repofiles.real(chart.app_dir)
    copies = [(app_dir, app_dir)]
    for dep, target in local_dirs.items():
        spelled = Path(os.path.normpath(app_dir / dep.repository[len("file://") :]))
        if not inside(spelled, app_dir):
            copies.append((target, spelled))
    for source, place in copies:
        shutil.copytree(
            source,
            into / place.relative_to(root),
            ignore=shutil.ignore_patterns(".git"),
            ignore_dangling_symlinks=True,
            dirs_exist_ok=True,
        )
    return into / app_dir.relative_to(root)


def inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def rel(path: Path, root: Path) -> str:
    """``path`` relative to the checkout, as messages spell it."""
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return path.as_posix()
