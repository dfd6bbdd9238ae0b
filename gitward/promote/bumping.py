"""Bumping one chart's version in every app that depends on it, in a worktree.

For each app (an umbrella chart) whose ``requirements.yaml`` or
``Chart.yaml`` ``dependencies:`` name the chart, the version line changes,
the lock is written anew by helm (so the lock check passes, and a version
the chart repository does not publish fails here, exit 2), and with
``--image`` the chart's values file (``<alias or name>.yaml`` beside it) gets
the new ``image.tag``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitward import repofiles
from gitward.config.apps import AppSpec
from gitward.errors import RenderError
from gitward.promote import edits
from gitward.promote.errors import PromoteInputError
from gitward.render.helm.charts import norm_version, read_chart
from gitward.render.helm.locking import LockedChart, locked_charts, update_lock


@dataclass(frozen=True)
class Bump:
    """One app's change: the chart's version (and image tag) before and after."""

    app: str
    environment: str
    file: str  # the dependency file, relative to the repository
    old: str
    new: str
    old_image: str | None = None
    new_image: str | None = None
    annotations: tuple[tuple[str, str], ...] = ()  # of the new chart version, sorted
    old_annotations: tuple[tuple[str, str], ...] = ()  # of the version it had
    lock: str = ""  # the lock file written anew, relative to the repository

    @property
    def changes(self) -> bool:
        return norm_version(self.old) != norm_version(self.new) or self.old_image != self.new_image


def apps_using(root: Path, apps: tuple[AppSpec, ...], chart: str) -> tuple[AppSpec, ...]:
    """The apps whose umbrella chart depends on ``chart``."""
    return tuple(a for a in apps if _dependency_file(root, a, chart) is not None)


def _dependency_file(root: Path, app: AppSpec, chart: str) -> tuple[str, str] | None:
    """``(file, version)`` where ``app`` asks for ``chart``, if it does."""
    app_dir = root / app.path
    if not (app_dir / "Chart.yaml").is_file():
        return None
    try:
        umbrella = read_chart(app_dir=app_dir, label=app.path, root=root)
    except RenderError as e:
        raise PromoteInputError(str(e)) from e
    dep = next((d for d in umbrella.dependencies if d.name == chart), None)
    if dep is None:
        return None
    return f"{app.path}/{umbrella.deps_file}", dep.version


def bump_app(
    root: Path,
    app: AppSpec,
    *,
    chart: str,
    version: str,
    image: str | None,
    image_key: str = "image.tag",
) -> Bump:
    """Write the new version (and the image tag, at ``image_key`` of the chart's values
    file) into ``app``'s files and its lock; what changed."""
    real = repofiles.real(root)
    found = _dependency_file(root, app, chart)
    if found is None:
        raise PromoteInputError(f"app {app.name}: does not depend on chart {chart}")
    file, old = found
    path = root / file
    text = repofiles.read_text(path, root=real, subject=file, error=PromoteInputError)
    changed = edits.set_dependency_version(text, chart=chart, version=version, subject=file)
    old_image = new_image = None
    umbrella = read_chart(app_dir=root / app.path, label=app.path, root=root)
    key = next(d.key for d in umbrella.dependencies if d.name == chart)
    if image is not None:
        values = f"{app.path}/{key}.yaml"
        values_path = root / values
        if not values_path.is_file():
            raise PromoteInputError(
                f"{values}: not found; an image tag is set at {image_key} in the values "
                f"file of chart {chart} ({key}.yaml beside the app's Chart.yaml)"
            )
        values_text = repofiles.read_text(
            values_path, root=real, subject=values, error=PromoteInputError
        )
        old_image = edits.image_tag(values_text, subject=values, key=image_key)
        new_image = image
        if old_image != image:
            values_path.write_text(
                edits.set_image_tag(values_text, tag=image, subject=values, key=image_key),
                encoding="utf-8",
            )
    version_changes = norm_version(old) != norm_version(version)
    annotations: tuple[tuple[str, str], ...] = ()
    old_annotations: tuple[tuple[str, str], ...] = ()
    lock = ""
    if version_changes:
        old_annotations = _annotations_of(locked_charts(umbrella, root=root), chart)
        path.write_text(changed, encoding="utf-8")
        lock = f"{app.path}/{umbrella.lock_file}"
        locked = update_lock(
            read_chart(app_dir=root / app.path, label=app.path, root=root), root=root
        )
        annotations = _annotations_of(locked, chart)
    return Bump(
        app=app.name,
        environment=app.environment,
        file=file,
        old=old,
        new=version,
        old_image=old_image,
        new_image=new_image,
        annotations=annotations,
        old_annotations=old_annotations,
        lock=lock,
    )


def _annotations_of(locked: tuple[LockedChart, ...], chart: str) -> tuple[tuple[str, str], ...]:
    entry = next((c for c in locked if c.name == chart), None)
    return tuple(sorted(entry.annotations.items())) if entry else ()
