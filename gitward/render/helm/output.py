"""What ``helm template`` printed, as objects; and which charts the build used.

Helm prints ``---`` and ``# Source: <chart>/<path>`` before every document;
each object keeps its template's path, relative to the app, as its source.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from gitward import yamlload
from gitward.errors import RenderError
from gitward.objects import Manifest
from gitward.render.documents import iter_documents, load_single, manifests_from
from gitward.render.helm.charts import LockEntry, UmbrellaChart, join, lock_entries
from gitward.render.results import ChartDependency

_SOURCE = "# Source: "


def parse_template_output(text: str, *, label: str) -> list[Manifest]:
    """Objects of ``helm template`` output; each ``source`` is its template, app-relative.

    ``<path>`` in ``# Source: <chart>/<path>`` is relative to the umbrella
    chart, i.e. to the app.
    """
    out: list[Manifest] = []
    for source, chunk in _split_sources(text):
        subject = f"{join(label, source)} (rendered)"
        out.extend(
            manifests_from(iter_documents(chunk, subject=subject), subject=subject, source=source)
        )
    return out


def _split_sources(text: str) -> Iterator[tuple[str, str]]:
    lines = text.splitlines()
    source = "."
    chunk: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        nxt = lines[index + 1] if index + 1 < len(lines) else ""
        if line.rstrip() == "---" and nxt.startswith(_SOURCE):
            if any(c.strip() for c in chunk):
                yield source, "\n".join(chunk) + "\n"
            path = PurePosixPath(nxt[len(_SOURCE) :].strip())
            source = PurePosixPath(*path.parts[1:]).as_posix() if len(path.parts) > 1 else "."
            chunk = []
            index += 2
            continue
        chunk.append(line)
        index += 1
    if any(c.strip() for c in chunk):
        yield source, "\n".join(chunk) + "\n"


def built_charts(chart: UmbrellaChart, chart_dir: Path) -> list[ChartDependency]:
    """Each dependency as built: its version (from the lock) and its archive's digest."""
    built_lock = _lock_after_build(chart, chart_dir)
    unused = list(built_lock)
    out: list[ChartDependency] = []
    for dep in chart.dependencies:
        entry = next((e for e in unused if e.name == dep.name), None)
        if entry is not None:
            unused.remove(entry)
        version = entry.version if entry is not None and entry.version else dep.version
        archive = chart_dir / "charts" / f"{dep.name}-{version}.tgz"
        digest, commit, source = None, "", ""
        if archive.is_file():
            data = archive.read_bytes()
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            commit = _built_from(data, dep.name)
            source = _built_source(data, dep.name) if commit else ""
        out.append(
            ChartDependency(
                name=dep.name,
                alias=dep.alias,
                version=version,
                repository=dep.repository,
                digest=digest,
                commit=commit,
                source=source,
            )
        )
    return out


_COMMIT = "gitward.io/commit"
_SOURCE_REPO = "gitward.io/source"


def _annotations(tgz: bytes, name: str) -> dict[str, Any]:
    """The annotations of a packaged chart's ``Chart.yaml``; empty when it has none."""
    try:
        with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
            member = tar.extractfile(f"{name}/Chart.yaml")
            text = member.read(1024 * 1024).decode(errors="replace") if member else ""
        loaded = yamlload.load_single(text, subject=f"{name}/Chart.yaml", error=RenderError)
    except (tarfile.TarError, OSError, KeyError, RenderError):
        return {}
    meta = loaded.data if loaded is not None else None
    notes = meta.get("annotations") if isinstance(meta, dict) else None
    return notes if isinstance(notes, dict) else {}


def _built_from(tgz: bytes, name: str) -> str:
    """The code commit a packaged chart names in its ``gitward.io/commit`` annotation, or ""."""
    commit = _annotations(tgz, name).get(_COMMIT)
    return commit if isinstance(commit, str) and re.fullmatch(r"[0-9a-f]{40,64}", commit) else ""


def _built_source(tgz: bytes, name: str) -> str:
    """The code repository a packaged chart names in ``gitward.io/source``, or ""."""
    source = _annotations(tgz, name).get(_SOURCE_REPO)
    return source if isinstance(source, str) and "://" in source and len(source) < 2048 else ""


def _lock_after_build(chart: UmbrellaChart, chart_dir: Path) -> tuple[LockEntry, ...]:
    if chart.lock is not None:
        return chart.lock
    path = chart_dir / chart.lock_file
    if not path.is_file():
        return ()
    data = load_single(path.read_text(encoding="utf-8"), subject=chart.where(chart.lock_file))
    if not isinstance(data, dict):
        return ()
    return lock_entries(data, subject=chart.where(chart.lock_file))
