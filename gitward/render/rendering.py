"""One app of a checked-out config repository -> its objects.

The entry point of the package: find the app's directory, tell how it is
rendered from the files it holds, and hand it to the renderer for that kind.
Helm and plain-YAML renders go through the cache: Helm for its downloads and
process, plain YAML because hashing a thousand objects' files takes a
millisecond while parsing them takes half a second. Kustomize renders are not
cached: a kustomization may read outside the app directory.

Nothing is read before it is known to be inside the checkout: the app
directory is resolved (it may be a symlink to another directory of the
repository, not to one elsewhere) and every link below it is checked first.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from gitward import repofiles
from gitward.config.apps import AppSpec, SourceKind
from gitward.errors import RenderError
from gitward.render.cache import RenderCache
from gitward.render.decrypting import Decryptor, any_encrypted
from gitward.render.directory import render_directory
from gitward.render.helm import (
    helm_identity,
    local_chart_dirs,
    read_chart,
    render_helm,
    values_file_paths,
)
from gitward.render.kustomize import KUSTOMIZATION_FILES, render_kustomize
from gitward.render.results import Rendered


def detect(path: Path) -> SourceKind:
    """``Chart.yaml`` -> HELM; a kustomization file -> KUSTOMIZE; else DIRECTORY."""
    if not path.is_dir():
        raise RenderError(f"{path}: not found" if not path.exists() else f"{path}: not a directory")
    if (path / "Chart.yaml").is_file():
        return SourceKind.HELM
    if any((path / name).is_file() for name in KUSTOMIZATION_FILES):
        return SourceKind.KUSTOMIZE
    return SourceKind.DIRECTORY


def render_app(
    *,
    app: AppSpec,
    root: Path,
    cache: RenderCache | None = None,
    decryptor: Decryptor | None = None,
) -> Rendered:
    """Render ``app`` (its ``path`` is relative to the checkout ``root``).

    Every ``Manifest.source`` is relative to the app directory. Raises
    :class:`RenderError` with a one-line message naming the file (and line)
    or the chart at fault. SOPS-encrypted files are decrypted with
    ``decryptor``; a render that decrypted anything is never cached.
    """
    decryptor = decryptor or Decryptor(None)
    root = repofiles.real(root)
    app_dir = Path(os.path.normpath(root / app.path))
    if app_dir != root and root not in app_dir.parents:
        raise RenderError(f"{app.path}: app {app.name} points outside the repository")
    label = app_dir.relative_to(root).as_posix()
    if not app_dir.exists():
        if app_dir.is_symlink():
            # A dangling link may still name a place outside: say so rather than "missing".
            repofiles.resolve_inside(app_dir, root=root, subject=label, error=RenderError)
        raise RenderError(f"{app.path}: app {app.name} has no such directory in the repository")
    app_dir = repofiles.resolve_inside(app_dir, root=root, subject=label, error=RenderError)
    if not app_dir.is_dir():
        raise RenderError(f"{app.path}: app {app.name} must be a directory, not a file")
    # Everything below the app dir may be read (a chart's templates can read
    # any of its files), so no link in it may lead out; checked before the
    # cache key, which reads every file too.
    repofiles.check_tree(app_dir, root=root, label=label, error=RenderError)
    kind = detect(app_dir)
    if kind is SourceKind.DIRECTORY:
        if any_encrypted([app_dir]):
            cache = None  # the result holds plaintext: it stays in memory
        rendered = _render_directory_cached(
            app=app, app_dir=app_dir, label=label, root=root, cache=cache, decryptor=decryptor
        )
        return replace(rendered, inputs=(label,))
    if kind is SourceKind.KUSTOMIZE:
        manifests, inputs = render_kustomize(
            app_dir=app_dir, label=label, root=root, decryptor=decryptor
        )
        return Rendered(kind=kind, manifests=tuple(manifests), inputs=inputs)

    chart = read_chart(app_dir=app_dir, label=label, root=root)
    outside = [
        *local_chart_dirs(chart, root=root).values(),
        *values_file_paths(app.values_files, app_dir=app_dir, root=root),
    ]
    inputs = tuple(sorted({label, *(p.relative_to(root).as_posix() for p in outside)}))
    if any_encrypted([app_dir, *outside]):
        cache = None  # the result holds plaintext: it stays in memory
    key: str | None = None
    if cache is not None and chart.cacheable:
        extra = outside
        key = cache.key(
            app=app,
            app_dir=app_dir,
            tool=helm_identity(),
            lock_digest=chart.lock_digest,
            extra=[p for p in extra if app_dir not in p.parents],
        )
        hit = cache.get(key)
        if hit is not None:
            return replace(hit, inputs=inputs)
    result = render_helm(
        chart=chart,
        root=root,
        release=app.release,
        namespace=app.namespace,
        values_files=app.values_files,
        decryptor=decryptor,
    )
    rendered = Rendered(
        kind=kind, manifests=tuple(result.manifests), charts=tuple(result.charts), inputs=inputs
    )
    if cache is not None and key is not None:
        cache.put(key, rendered)
    return rendered


def _render_directory_cached(
    *,
    app: AppSpec,
    app_dir: Path,
    label: str,
    root: Path,
    cache: RenderCache | None,
    decryptor: Decryptor,
) -> Rendered:
    key = cache.key(app=app, app_dir=app_dir, tool="directory") if cache else None
    if cache is not None and key is not None and (hit := cache.get(key)) is not None:
        return hit
    rendered = Rendered(
        kind=SourceKind.DIRECTORY,
        manifests=tuple(
            render_directory(app_dir=app_dir, label=label, root=root, decryptor=decryptor)
        ),
    )
    if cache is not None and key is not None:
        cache.put(key, rendered)
    return rendered
