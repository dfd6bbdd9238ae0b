"""Checks that passed, remembered by a digest of everything they looked at.

``helm lint`` of a chart's exact files with one helm binary gives the same
answer every time, so it need not run twice on the same input: ``gitward ci
build`` lints the chart beside the image build, and the ``gitward ci
publish`` that follows finds the pass instead of linting again. Only passes
are remembered, under gitward's cache and named by the digest of their
inputs: as an empty file, or as a directory that keeps what the check
looked at (the prepared chart, so the ``publish`` need not prepare it
again); a failure runs again and says why. The cache is a shortcut, never a
source of truth: when it cannot be read or written, the check simply runs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from gitward.tools import cache_root

KEPT_AT_MOST = 32


def digest_of(parts: list[bytes]) -> str:
    """One digest for ``parts``, each length-prefixed so no two lists share one."""
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def tree_parts(root: Path) -> list[bytes]:
    """Every file under ``root`` as (path, content) parts, in a stable order."""
    parts: list[bytes] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        parts += [str(path.relative_to(root)).encode(), path.read_bytes()]
    return parts


def tool_parts(binary: Path) -> list[bytes]:
    """A program's identity: its path, size and modification time."""
    st = binary.stat()
    return [str(binary).encode(), f"{st.st_size}:{st.st_mtime_ns}".encode()]


def _marker(kind: str, key: str) -> Path:
    return cache_root() / "ci" / "passed" / kind / key


def remembered(kind: str, key: str) -> bool:
    return _marker(kind, key).is_file()


def remember(kind: str, key: str) -> None:
    marker = _marker(kind, key)
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass  # a read-only cache only costs the next run a check


def kept(kind: str, key: str) -> Path | None:
    """The directory :func:`keep` stored for ``key``, or ``None``."""
    marker = _marker(kind, key)
    return marker if marker.is_dir() else None


def keep(kind: str, key: str, fill: Callable[[Path], None]) -> None:
    """Remember ``key`` with a directory that ``fill`` writes (whole before it is seen)."""
    marker = _marker(kind, key)
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=marker.parent))
    except OSError:
        return  # a read-only cache only costs the next run a check
    try:
        fill(staging)
        os.rename(staging, marker)
    except OSError:
        # Another run kept the same key first (the same content), or the cache is full.
        shutil.rmtree(staging, ignore_errors=True)
        return
    _keep_newest(marker.parent)


def _keep_newest(directory: Path) -> None:
    """Drop all but the newest :data:`KEPT_AT_MOST` kept directories: each commit keeps
    one, and only the last few are ever asked for again."""
    try:
        entries = sorted(
            (e for e in os.scandir(directory) if e.is_dir() and not e.name.startswith(".")),
            key=lambda e: e.stat().st_mtime,
        )
    except OSError:
        return
    for entry in entries[:-KEPT_AT_MOST]:
        shutil.rmtree(entry.path, ignore_errors=True)


def forget(kind: str, key: str) -> None:
    """Drop what :func:`keep` stored for ``key`` (found damaged), so it can be kept anew."""
    shutil.rmtree(_marker(kind, key), ignore_errors=True)
