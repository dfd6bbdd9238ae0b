"""What rendering remembers: rendered apps, and the charts a dependency build fetched.

Rendering is deterministic: the same files, release, namespace, values files,
helm binary and lock give the same objects. So a render is stored as JSON
under a sha256 of exactly those inputs (a :class:`Fingerprint`), and a hit
returns the stored result without starting helm. A hit is only as fresh as
its key: a Helm chart without a lock that pulls from a repository is never
cached (its versions float), and kustomize renders are not cached (a
kustomization may read outside its directory).

A locked ``helm dependency build`` is deterministic in the same way, and it
is the slow part of a render that misses (it downloads). So its archives are
kept as well, in a :class:`ChartCache`, keyed by everything the build reads;
a render whose values changed but whose lock did not downloads nothing.

Both stores publish an entry by renaming it into place, so a crashed or
concurrent render leaves either a whole entry or none; an entry that cannot
be read is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gitward.config.apps import AppSpec
from gitward.render.results import Rendered
from gitward.tools import cache_root

FORMAT = 1

_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


class Fingerprint:
    """A sha256 fed with named fields and file trees; the key of a cache entry."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def field(self, name: str, value: str) -> None:
        # Length-prefixed, so no two sequences of fields feed the same bytes.
        self._digest.update(f"{name}\0{len(value)}\0{value}\0".encode())

    def tree(self, label: str, top: Path) -> None:
        """Every file under ``top`` (or ``top`` itself): relative path, then content."""
        digest = self._digest
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

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


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
        key = Fingerprint()
        key.field("format", str(FORMAT))
        key.field("release", app.release)
        key.field("namespace", app.namespace)
        key.field("values_files", json.dumps(list(app.values_files)))
        key.field("tool", tool)
        key.field("lock_digest", lock_digest or "")
        key.tree("app", app_dir)
        for index, path in enumerate(extra):
            key.tree(f"extra{index}", path)
        return key.hexdigest()

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
        payload = json.dumps(
            {"format": FORMAT, "key": key, "rendered": rendered.to_json()},
            separators=(",", ":"),
        ).encode()
        # One name per process and thread: no other writer uses it, so it needs
        # neither mkstemp's random names nor its retries (a cold start of a
        # thousand apps spent more on them than on writing the entries).
        tmp = path.with_name(f".{key[:12]}-{os.getpid()}-{threading.get_ident()}.tmp")
        try:
            try:
                fd = os.open(tmp, _NEW_FILE, 0o600)
            except FileNotFoundError:
                # Its directory is made on first use, and again if someone cleared the cache.
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(tmp, _NEW_FILE, 0o600)
            # No fsync: an entry a crash cut short does not parse or names another
            # key, and is a miss; syncing each of a thousand apps' renders to disk
            # cost a cold start more than rendering them again would.
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


class ChartCache:
    """Chart archives a dependency build wrote, one directory per key.

    Default ``cache_root()/helm/charts``. Like a vendored ``charts/``
    directory, a hit trusts that a published chart version does not change;
    clear the directory if one did.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory

    @property
    def directory(self) -> Path:
        return self._directory if self._directory is not None else cache_root() / "helm" / "charts"

    def restore(self, key: str, charts: Path) -> bool:
        """Swap the archives in ``charts`` for those under ``key``; ``False`` on a miss."""
        cached = self.directory / key
        if not cached.is_dir():
            return False
        charts.mkdir(exist_ok=True)
        for old in charts.glob("*.tgz"):
            old.unlink()
        for archive in sorted(cached.glob("*.tgz")):
            shutil.copy2(archive, charts / archive.name)
        return True

    def store(self, key: str, charts: Path) -> None:
        """Keep the archives in ``charts`` under ``key``, unless an entry is there already."""
        parent = self.directory
        parent.mkdir(parents=True, exist_ok=True)
        final = parent / key
        if final.exists():
            return
        staging = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=parent))
        try:
            for archive in sorted(charts.glob("*.tgz")):
                shutil.copy2(archive, staging / archive.name)
            os.rename(staging, final)
        except OSError:
            # Another render stored the same key first, or the cache is read-only:
            # either way this render already has its charts.
            shutil.rmtree(staging, ignore_errors=True)


class ArchiveCache:
    """One chart archive per repository, chart and version, whichever umbrella fetched it.

    Default ``cache_root()/helm/archives``. Umbrellas of different apps rarely
    share a whole lock (each names itself and records when it was made), but
    they often share the charts in it: kept one by one, a chart version is
    downloaded once for all of them. Like :class:`ChartCache`, a hit trusts
    that a published chart version does not change.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory

    @property
    def directory(self) -> Path:
        return (
            self._directory if self._directory is not None else cache_root() / "helm" / "archives"
        )

    def path_for(self, *, repository: str, name: str, version: str) -> Path:
        key = Fingerprint()
        key.field("format", "gitward-archive-v1")
        key.field("repository", repository.rstrip("/"))
        key.field("name", name)
        key.field("version", version)
        digest = key.hexdigest()
        return self.directory / digest[:2] / f"{digest}.tgz"

    def get(self, *, repository: str, name: str, version: str) -> Path | None:
        path = self.path_for(repository=repository, name=name, version=version)
        return path if path.is_file() else None

    def put(self, archive: Path, *, repository: str, name: str, version: str) -> None:
        """Keep a copy of ``archive``, renamed into place (a reader sees all of it or none).

        A cache that cannot be written (read-only, full) is left alone: this
        render has its charts already.
        """
        path = self.path_for(repository=repository, name=name, version=version)
        if path.is_file():
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".archive-", suffix=".tmp", dir=path.parent)
        except OSError:
            return
        os.close(fd)
        try:
            shutil.copyfile(archive, tmp)
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
