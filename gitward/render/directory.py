"""A directory of plain YAML/JSON manifests -> objects.

Files are found recursively and read in path order, so the same tree always
renders to the same list. Dot-files and dot-directories (``.git``,
``.github``, editor backups) are skipped: they are never manifests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from gitward.errors import RenderError
from gitward.objects import Manifest
from gitward.render.documents import iter_documents, manifests_from

SUFFIXES = (".yaml", ".yml", ".json")


def manifest_files(app_dir: Path) -> list[Path]:
    """Manifest files under ``app_dir``, relative to it, sorted by POSIX path."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(app_dir):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith(".") and name.endswith(SUFFIXES):
                found.append((Path(dirpath) / name).relative_to(app_dir))
    return sorted(found, key=lambda p: p.as_posix())


def render_directory(*, app_dir: Path, label: str) -> list[Manifest]:
    """Every object in the files under ``app_dir``.

    ``label`` is how errors name ``app_dir`` (its path in the repository).
    """
    out: list[Manifest] = []
    for rel in manifest_files(app_dir):
        source = rel.as_posix()
        subject = f"{label}/{source}" if label not in ("", ".") else source
        text = read_text(app_dir / rel, subject=subject)
        if rel.suffix == ".json":
            out.extend(
                manifests_from([(1, _load_json(text, subject))], subject=subject, source=source)
            )
        else:
            out.extend(
                manifests_from(
                    iter_documents(text, subject=subject), subject=subject, source=source
                )
            )
    return out


def read_text(path: Path, *, subject: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RenderError(f"{subject}: not UTF-8 text") from exc
    except OSError as exc:
        raise RenderError(f"{subject}: cannot be read: {exc.strerror or exc}") from exc


def _load_json(text: str, subject: str) -> object:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RenderError(f"{subject}:{exc.lineno}: {exc.msg}") from exc
