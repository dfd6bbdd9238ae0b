"""Rendered apps, remembered by everything that decides them.

Rendering is deterministic: the same files, release, namespace, values files,
helm binary and lock give the same objects. So a render is stored as JSON
under a sha256 of exactly those inputs, and a hit returns the stored result
without starting helm. A hit is only as fresh as its key: a Helm chart
without a lock that pulls from a repository is never cached (its versions
float), and kustomize renders are not cached (a kustomization may read
outside its directory).

Entries are written atomically (a temporary file renamed into place), so a
crashed or concurrent render leaves either a whole entry or none; an entry
that cannot be read is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gitward.config.apps import AppSpec
from gitward.render.results import Rendered
from gitward.tools import cache_root

FORMAT = 1


class RenderCache:
    """A directory of rendered apps keyed by :meth:`key`; default ``cache_root()/render``."""

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory

    @property
    def directory(self) -> Path:
        return self._directory if self._directory is not None else cache_root() / "render"

    def key(
        self,
        *,
        app: AppSpec,
        app_dir: Path,
        tool: str,
        lock_digest: str | None = None,
        extra: Iterable[Path] = (),
    ) -> str:
        """sha256 over every input of a render.

        ``tool`` identifies the renderer binary (e.g. helm's path, size and
        mtime); ``extra`` are files or directories outside ``app_dir`` that
        the render reads (``file://`` charts, values files elsewhere).
        """
        digest = hashlib.sha256()

        def field(name: str, value: str) -> None:
            digest.update(f"{name}\0{len(value)}\0{value}\0".encode())

        field("format", str(FORMAT))
        field("release", app.release)
        field("namespace", app.namespace)
        field("values_files", json.dumps(list(app.values_files)))
        field("tool", tool)
        field("lock_digest", lock_digest or "")
        _hash_tree(digest, "app", app_dir)
        for index, path in enumerate(extra):
            _hash_tree(digest, f"extra{index}", path)
        return digest.hexdigest()

    def path_for(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> Rendered | None:
        """The stored render for ``key``, or ``None`` when there is none (or it is unreadable)."""
        try:
            data: Any = json.loads(self.path_for(key).read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("key") != key:
                return None
            return Rendered.from_json(data["rendered"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def put(self, key: str, rendered: Rendered) -> None:
        """Store ``rendered`` under ``key``, atomically."""
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(
            {"format": FORMAT, "key": key, "rendered": rendered.to_json()},
            sort_keys=True,
            separators=(",", ":"),
        )
        fd, tmp = tempfile.mkstemp(prefix=f".{key[:12]}-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _hash_tree(digest: Any, label: str, top: Path) -> None:
    """Feed every file under ``top`` (or ``top`` itself): relative path, then content."""
    digest.update(f"tree\0{label}\0".encode())
    if top.is_file():
        digest.update(b"file\0" + hashlib.sha256(top.read_bytes()).digest())
        return
    files: list[tuple[str, Path]] = []
    # Links are followed as the renderers follow them; render_app has checked
    # that none leads out of the checkout (or loops) before a key is made.
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            path = Path(dirpath) / name
            files.append((path.relative_to(top).as_posix(), path))
    for rel, path in sorted(files):
        try:
            content = path.read_bytes()
        except OSError:
            content = b"\xff<unreadable>"
        digest.update(rel.encode() + b"\0" + hashlib.sha256(content).digest())
