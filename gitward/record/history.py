"""Sync history, kept in the cluster: the last N syncs of each app, and the
last successful one when it is older than those.

Every sync attempt is recorded with its real outcome, failures included. A
sync that wrote nothing and ended as the newest record already says (same
revision, outcome and reason) leaves the history as it is: the record already
tells that story, a no-op sync must make no write request, and a controller
retrying the same failing plan on every poll must not push the real history
out of the last N records.

Whether an app ever synced successfully decides whether its hooks are
install or upgrade hooks, so a run of failures never pushes the last success
out of the history.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from gitward.record import store

DEFAULT_LIMIT = 10


class SyncOutcome(StrEnum):
    """How one sync attempt ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the plan was invalid, or the cluster refused or failed a change
    DEGRADED = "degraded"  # --wait: an object became Degraded
    TIMED_OUT = "timed-out"  # --wait: not every object Healthy within the timeout
    SKIPPED = "skipped"  # not attempted: an app it depends on did not succeed (never recorded)


@dataclass(frozen=True)
class ObjectAction:
    object: str
    outcome: str
    message: str = ""


@dataclass(frozen=True)
class SyncRecord:
    app: str
    revision: str
    ref: str
    author: str
    subject: str
    started_at: str
    duration_seconds: float
    result: SyncOutcome
    message: str = ""  # why it did not succeed
    exit_code: int = 0  # what ``gitward sync`` exits with for this outcome (README: Exit codes)
    charts: tuple[str, ...] = ()  # "name@version"
    counts: dict[str, int] = field(default_factory=dict)
    actions: tuple[ObjectAction, ...] = ()  # every object that changed or failed

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["result"] = self.result.value
        return doc

    def repeats(self, other: SyncRecord) -> bool:
        """``other`` ends as this record did: same revision, outcome, code and reason."""
        return (self.revision, self.result, self.exit_code, self.message) == (
            other.revision,
            other.result,
            other.exit_code,
            other.message,
        )

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> SyncRecord:
        doc = dict(doc)
        doc["result"] = SyncOutcome(doc["result"])
        if "exit_code" not in doc and doc["result"] is SyncOutcome.FAILED:
            # Records written before the code was kept: a failed apply was exit 3.
            doc["exit_code"] = 3
        doc["charts"] = tuple(doc.get("charts", ()))
        doc["actions"] = tuple(ObjectAction(**a) for a in doc.get("actions", ()))
        return cls(**doc)


_TEXT = {"type": "string"}

#: What :meth:`SyncRecord.from_doc` accepts, and nothing else.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["records"],
    "properties": {
        "records": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "app",
                    "revision",
                    "ref",
                    "author",
                    "subject",
                    "started_at",
                    "duration_seconds",
                    "result",
                ],
                "properties": {
                    "app": _TEXT,
                    "revision": _TEXT,
                    "ref": _TEXT,
                    "author": _TEXT,
                    "subject": _TEXT,
                    "started_at": _TEXT,
                    "duration_seconds": {"type": "number"},
                    "result": {"enum": [o.value for o in SyncOutcome]},
                    "message": _TEXT,
                    "exit_code": {"type": "integer", "minimum": 0},
                    "charts": {"type": "array", "items": _TEXT},
                    "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "actions": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["object", "outcome"],
                            "properties": {"object": _TEXT, "outcome": _TEXT, "message": _TEXT},
                        },
                    },
                },
            },
        }
    },
}

KIND = store.RecordKind(
    what="sync history",
    schema=SCHEMA,
    remedy=(
        "delete it (kubectl -n {namespace} delete configmap {name}) or restore it from a "
        "backup; deleting loses only the list of past syncs"
    ),
)


def configmap_name(app: str) -> str:
    """Where an earlier gitward kept the app's history (see :mod:`gitward.record.apprecords`)."""
    return f"gitward-history-{app}"


def kept(records: list[SyncRecord], *, limit: int) -> list[SyncRecord]:
    """The newest ``limit`` of ``records`` (newest first), and the newest
    successful one after them when none of those succeeded."""
    out = records[: max(limit, 1)]
    succeeded = next((r for r in records if r.result is SyncOutcome.SUCCEEDED), None)
    if succeeded is not None and all(r is not succeeded for r in out):
        out.append(succeeded)
    return out
