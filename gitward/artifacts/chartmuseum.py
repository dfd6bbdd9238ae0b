"""A classic chart repository through the ChartMuseum API.

``GET <repo>/index.yaml`` lists what is published, ``POST <repo>/api/charts``
with the ``.tgz`` as body uploads a version (ChartMuseum's own API, which
Gitea's Helm registry speaks too). Versions are immutable here as well: a
version in the index with the same chart is a no-op, with another chart it
is refused before anything is sent.

A token embedded in the URL (``https://user:token@host/…``) is taken as the
credentials and cut out of the URL, so it never reaches a message or record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from gitward import yamlload
from gitward.artifacts.chartfiles import same_chart
from gitward.artifacts.credentials import CHART_REPO, Credentials, lookup
from gitward.artifacts.errors import StoreError, VersionConflict
from gitward.artifacts.http import Session, Store
from gitward.errors import ConfigError


@dataclass(frozen=True)
class Uploaded:
    repository: str  # the repository URL, without credentials
    url: str  # where the .tgz is served
    pushed: bool  # False: the identical version was already there


def split_credentials(url: str) -> tuple[str, Credentials | None]:
    """``url`` without ``user:password@``, and those as credentials (or ``None``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"chart repository {url.rsplit('@', maxsplit=1)[-1]!r}: not an http(s) URL"
        )
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url.rstrip("/"), None
    clean = urlunsplit(parts._replace(netloc=hostport)).rstrip("/")
    user, _, password = userinfo.partition(":")
    if not (user and password):
        return clean, None
    return clean, Credentials(user, password, origin="the chart repository URL")


class ChartRepository:
    def __init__(
        self,
        url: str,
        *,
        credentials: Credentials | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        clean, embedded = split_credentials(url)
        self.url = clean
        host = urlsplit(clean).netloc
        self.credentials = credentials or embedded or lookup(CHART_REPO, host)
        self._index: dict[str, Any] | None = None
        self.session = Session(
            store=Store("chart repository", clean),
            base_url=clean + "/",
            credentials=self.credentials,
            basic=True,
            transport=transport,
        )

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> ChartRepository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def index(self) -> dict[str, Any]:
        """The repository's ``index.yaml`` (an empty one when it has none yet), read afresh."""
        self._index = None
        r = self.session.request("GET", "index.yaml")
        if r.status_code == 404:
            return {}
        if r.status_code != 200:
            raise StoreError(f"{self.session.store}: index.yaml: unexpected HTTP {r.status_code}")
        loaded = yamlload.load_single(
            r.text, subject=f"{self.session.store}: index.yaml", error=StoreError
        )
        doc = loaded.data if loaded is not None else {}
        self._index = doc if isinstance(doc, dict) else {}
        return self._index

    def entry(self, name: str, version: str) -> dict[str, Any] | None:
        """The index's entry for version ``version`` of chart ``name``, or ``None``."""
        if self._index is None:
            self._index = self.index()
        entries = self._index.get("entries") or {}
        for entry in entries.get(name) or () if isinstance(entries, dict) else ():
            if isinstance(entry, dict) and str(entry.get("version")) == version:
                return entry
        return None

    def entry_url(self, name: str, version: str) -> str | None:
        """Where version ``version`` of chart ``name`` is served, or ``None``."""
        entry = self.entry(name, version)
        if entry is None:
            return None
        urls = entry.get("urls") or [f"charts/{name}-{version}.tgz"]
        return urljoin(self.url + "/", str(urls[0]))

    def download(self, url: str) -> bytes:
        r = self.session.request("GET", url)
        if r.status_code != 200:
            raise StoreError(f"{self.session.store}: GET {url}: unexpected HTTP {r.status_code}")
        return r.content

    def publish(self, *, name: str, version: str, tgz: bytes) -> Uploaded:
        """Upload version ``version`` of chart ``name``; a no-op when the repository
        holds the same chart, :class:`VersionConflict` when it holds another.

        The index this client read last (in this run, when the stores were
        first asked) says whether the version exists; one uploaded since is
        refused by the repository, and then the index is read again to tell
        the same chart from another.
        """
        existing = self.entry_url(name, version)
        if existing is None:
            r = self.session.request(
                "POST", "api/charts", content=tgz, headers={"Content-Type": "application/gzip"}
            )
            self._index = None
            if r.status_code in (200, 201):
                url = self.entry_url(name, version) or urljoin(
                    self.url + "/", f"charts/{name}-{version}.tgz"
                )
                return Uploaded(repository=self.url, url=url, pushed=True)
            if r.status_code != 409:
                raise StoreError(
                    f"{self.session.store}: upload of {name} {version}: "
                    f"unexpected HTTP {r.status_code}"
                )
            existing = self.entry_url(name, version)
            if existing is None:
                raise VersionConflict(
                    f"chart {name} {version}: {self.url} refused the upload: the version exists"
                )
        theirs = self.download(existing)
        if same_chart(theirs, tgz, subject=f"{existing} in {self.session.store}"):
            return Uploaded(repository=self.url, url=existing, pushed=False)
        raise VersionConflict(
            f"chart {name} {version}: {self.url} already holds different content for this "
            "version; published versions are immutable (commit and tag a new version)"
        )
