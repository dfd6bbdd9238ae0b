"""One event to tell, as data: what happened, to which app, at which revision, with links.

Its :attr:`Notification.id` is stable: the same app, revision, event and
object give the same id on any replica, before or after a restart. That id is
what makes delivery happen once (:mod:`gitward.notify.ledger`), and what a
receiver sees in ``X-Gitward-Delivery`` to recognise a message it already has.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from gitward.config.notifications import EventKind

#: How each event reads in a message, and whether it is bad news.
TITLES: dict[EventKind, tuple[str, bool]] = {
    EventKind.SYNC_SUCCEEDED: ("synced", False),
    EventKind.SYNC_FAILED: ("sync failed", True),
    EventKind.HEALTH_DEGRADED: ("health degraded", True),
    EventKind.HEALTH_RECOVERED: ("health recovered", False),
    EventKind.DRIFT_DETECTED: ("drift detected", True),
    EventKind.DRIFT_CORRECTED: ("drift corrected", False),
    EventKind.FIGHTING: ("fighting with another field manager", True),
    EventKind.COMMIT_REFUSED: ("commit refused", True),
}


@dataclass(frozen=True)
class ChartLink:
    """A chart the deployed revision renders, and the code commit it was built from."""

    name: str
    version: str
    commit: str = ""
    commit_url: str = ""

    def to_doc(self) -> dict[str, str]:
        return {
            "name": self.name,
            "version": self.version,
            "commit": self.commit,
            "commitUrl": self.commit_url,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ChartLink:
        return cls(
            name=str(doc["name"]),
            version=str(doc["version"]),
            commit=str(doc.get("commit", "")),
            commit_url=str(doc.get("commitUrl", "")),
        )


@dataclass(frozen=True)
class Notification:
    event: EventKind
    app: str  # "" for the repository's own events (a refused commit)
    key: str  # the app's record key (``<environment>.<name>``); "" with ``app``
    revision: str
    #: What the event is about, and what tells two occurrences at one revision
    #: apart (an object and the version of it that drifted); "" for the app itself.
    object: str = ""
    message: str = ""
    revision_url: str = ""
    app_url: str = ""
    charts: tuple[ChartLink, ...] = ()
    occurred_at: str = ""

    @property
    def id(self) -> str:
        raw = "\0".join((self.key, self.revision, self.event.value, self.object))
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    @property
    def title(self) -> str:
        what, _ = TITLES[self.event]
        subject = f"app {self.app}" if self.app else "repository"
        return f"{subject}: {what} at {self.revision[:12]}"

    @property
    def bad(self) -> bool:
        return TITLES[self.event][1]

    def to_doc(self) -> dict[str, Any]:
        """The JSON a webhook receives (and what the ledger keeps to resume a delivery)."""
        return {
            "id": self.id,
            "event": self.event.value,
            "app": self.app,
            "appKey": self.key,
            "revision": self.revision,
            "revisionUrl": self.revision_url,
            "object": self.object,
            "message": self.message,
            "appUrl": self.app_url,
            "charts": [c.to_doc() for c in self.charts],
            "occurredAt": self.occurred_at,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Notification:
        return cls(
            event=EventKind(doc["event"]),
            app=str(doc["app"]),
            key=str(doc["appKey"]),
            revision=str(doc["revision"]),
            object=str(doc.get("object", "")),
            message=str(doc.get("message", "")),
            revision_url=str(doc.get("revisionUrl", "")),
            app_url=str(doc.get("appUrl", "")),
            charts=tuple(ChartLink.from_doc(c) for c in doc.get("charts", ())),
            occurred_at=str(doc.get("occurredAt", "")),
        )
