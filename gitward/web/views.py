"""What the pages show, computed from the controller's answers, apart from HTML.

Templates only lay these out. Keeping the choices here (which apps a filter
keeps, which drifts are open, where a commit lives on its forge) makes them
testable without a browser, and keeps the route handlers thin.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from gitward.source.revisions import Revision
from gitward.source.urls import commit_url

__all__ = ["AppRow", "Filters", "app_rows", "commit_url", "open_drifts", "rollback_targets"]

#: Drift outcomes that still need someone's attention.
OPEN_OUTCOMES = frozenset({"pending", "reported", "failed"})
SYNC_CHOICES = ("Synced", "OutOfSync", "Unknown")
HEALTH_CHOICES = ("Healthy", "Progressing", "Suspended", "Missing", "Degraded", "Unknown")
#: A shape beside each status's colour, so that it reads in grey too.
ICONS = {
    "Synced": "✓",
    "OutOfSync": "↻",
    "Healthy": "♥",
    "Progressing": "◔",
    "Suspended": "⏸",
    "Missing": "∅",
    "Degraded": "✕",
}


@dataclass(frozen=True)
class Filters:
    name: str = ""
    sync: str = ""
    health: str = ""

    @classmethod
    def of(cls, query: Mapping[str, str]) -> Filters:
        """Filters from a query string; unknown values filter nothing rather than everything."""
        sync = query.get("sync", "")
        health = query.get("health", "")
        return cls(
            name=query.get("q", "").strip()[:200],
            sync=sync if sync in SYNC_CHOICES else "",
            health=health if health in HEALTH_CHOICES else "",
        )

    def keeps(self, summary: Mapping[str, Any]) -> bool:
        if self.name and self.name.lower() not in str(summary.get("name", "")).lower():
            return False
        if self.sync and summary.get("sync") != self.sync:
            return False
        return not (self.health and summary.get("health") != self.health)


@dataclass(frozen=True)
class AppRow:
    summary: Mapping[str, Any]
    open_drifts: int
    commit_subject: str
    commit_author: str
    commit_url: str

    @property
    def name(self) -> str:
        return str(self.summary.get("name", ""))

    @property
    def path(self) -> str:
        """The app's name as one URL path segment."""
        return quote(self.name, safe="")

    @property
    def key(self) -> Hashable | None:
        """All the row shows, as a dictionary key; ``None`` when a value cannot be one."""
        shown = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in self.summary.items())
        key = (shown, self.open_drifts, self.commit_subject, self.commit_author, self.commit_url)
        try:
            hash(key)
        except TypeError:
            return None
        return key


def open_drifts(records: Iterable[Mapping[str, Any]]) -> int:
    return sum(1 for r in records if r.get("outcome") in OPEN_OUTCOMES)


def app_rows(
    summaries: Sequence[Mapping[str, Any]],
    drifts: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    revision: Revision | None,
    repo_url: str,
) -> list[AppRow]:
    rows = []
    links: dict[str, str] = {}  # most apps run one commit: one link to make
    for summary in summaries:
        sha = str(summary.get("revision") or "")
        known = revision is not None and bool(sha) and revision.sha == sha
        if sha not in links:
            links[sha] = commit_url(repo_url, sha)
        rows.append(
            AppRow(
                summary=summary,
                open_drifts=open_drifts(drifts.get(str(summary.get("name")), ())),
                commit_subject=revision.subject if known and revision else "",
                commit_author=revision.author if known and revision else "",
                commit_url=links[sha],
            )
        )
    return rows


def rollback_targets(history: Sequence[Mapping[str, Any]]) -> frozenset[int]:
    """The rows of ``history`` (newest first) a rollback may return to, by index.

    As ``gitward rollback`` chooses: successful syncs of a commit other than
    the one running now (the newest successful sync's); one row per commit,
    its newest.
    """
    rows: dict[str, int] = {}
    for i, r in enumerate(history):
        revision = str(r.get("revision") or "")
        if r.get("result") == "succeeded" and revision and not revision.endswith("-dirty"):
            rows.setdefault(revision, i)
    current = min(rows.items(), key=lambda item: item[1])[0] if rows else ""
    return frozenset(i for revision, i in rows.items() if revision != current)
