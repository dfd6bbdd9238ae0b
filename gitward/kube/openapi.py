"""The API server's own OpenAPI v3 schemas, fetched once per content and kept.

``/openapi/v3`` lists one document per group version, each under a URL that
carries a hash of its content: the same URL always serves the same schemas,
so a document fetched once is kept for as long as the client lives, and a
server upgrade or a new CRD shows up as a new URL. The list itself is read
again only when it is older than :data:`INDEX_MAX_AGE`, so a long-lived
controller notices an upgrade without asking on every sync.

Descriptions are dropped on arrival: they are most of a document's size and
nothing here reads them. With a cache directory, what is left is also kept on
disk under a digest of its URL, so the next process (the next ``gitward
sync``) reads a few hundred kilobytes instead of asking for megabytes: a URL
names its content, so a file found there is never stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from gitward.kube.errors import NotFound

INDEX_MAX_AGE = 60.0  # seconds

Schemas = Mapping[str, Any]  # components.schemas of one group version, by schema name
Fetch = Callable[[str, str], Awaitable[Any]]  # (path, subject) -> decoded JSON


def document_key(api_version: str) -> str:
    """``v1`` -> ``api/v1``, ``apps/v1`` -> ``apis/apps/v1``: the index's name for it."""
    return f"apis/{api_version}" if "/" in api_version else f"api/{api_version}"


class OpenAPIDocuments:
    """The schemas of each group version, by the content-addressed URL they came from."""

    def __init__(self, fetch: Fetch, *, cache_dir: Path | None = None) -> None:
        self._fetch = fetch
        self._cache_dir = cache_dir
        self._index: dict[str, str] | None = None  # document key -> URL
        self._index_read = 0.0
        self._documents: dict[str, Schemas] = {}  # URL -> schemas
        self._lock = asyncio.Lock()

    async def schemas(self, api_version: str) -> Schemas | None:
        """``components.schemas`` of ``api_version``'s document; ``None`` when the server
        publishes none for it (no OpenAPI v3 at all, or a group version it does not serve)."""
        async with self._lock:
            index = await self._read_index()
            url = index.get(document_key(api_version))
            if url is None:
                return None
            found = self._documents.get(url)
            if found is not None:
                return found
            found = self._read_cached(url)
            if found is None:
                doc = await self._fetch(url, f"openapi {api_version}")
                found = _without_descriptions(
                    (doc or {}).get("components", {}).get("schemas", {}), names=True
                )
                self._write_cached(url, found)
            # Kept in memory however it came: read from disk and decoded on every
            # sync, it cost a cold start of a thousand apps a fifth of its CPU.
            self._documents = {u: s for u, s in self._documents.items() if u in index.values()}
            self._documents[url] = found
            return found

    async def _read_index(self) -> dict[str, str]:
        if self._index is not None and time.monotonic() - self._index_read < INDEX_MAX_AGE:
            return self._index
        try:
            doc = await self._fetch("/openapi/v3", "openapi")
        except NotFound:
            doc = {}
        self._index = {
            key: str(entry["serverRelativeURL"])
            for key, entry in ((doc or {}).get("paths") or {}).items()
            if isinstance(entry, dict) and entry.get("serverRelativeURL")
        }
        self._index_read = time.monotonic()
        return self._index

    def _cached_path(self, url: str) -> Path | None:
        if self._cache_dir is None:
            return None
        return self._cache_dir / f"{hashlib.sha256(url.encode()).hexdigest()[:40]}.json"

    def _read_cached(self, url: str) -> Schemas | None:
        path = self._cached_path(url)
        if path is None:
            return None
        try:
            found = json.loads(path.read_text())
        except (OSError, ValueError):
            return None  # absent, or cut short: fetched again
        return found if isinstance(found, dict) else None

    def _write_cached(self, url: str, schemas: Schemas) -> None:
        """Best effort: a cache that cannot be written only costs the next process a fetch."""
        path = self._cached_path(url)
        if path is None:
            return
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                json.dump(schemas, f, separators=(",", ":"))
            os.replace(tmp, path)


def default_cache_dir() -> Path | None:
    """``$XDG_CACHE_HOME/gitward/openapi`` (``~/.cache/gitward/openapi``); ``None``
    without a home (a container's user may have none): then memory only."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError):
            return None
    return Path(base) / "gitward" / "openapi"


def _without_descriptions(node: Any, *, names: bool = False) -> Any:
    """``node`` without its ``description`` keywords; ``names``: ``node`` maps names to
    schemas (``properties``, ``components.schemas``), where a field may be called so."""
    if isinstance(node, dict):
        return {
            k: _without_descriptions(v, names=not names and k == "properties")
            for k, v in node.items()
            if names or k != "description"
        }
    if isinstance(node, list):
        return [_without_descriptions(v) for v in node]
    return node


__all__ = ["INDEX_MAX_AGE", "OpenAPIDocuments", "Schemas", "default_cache_dir", "document_key"]
