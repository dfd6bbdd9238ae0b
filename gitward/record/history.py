"""Sync history, kept in the cluster: the last N syncs of each app, and the
last successful one when it is older than those.

A sync that changed nothing at a revision already recorded leaves the history
as it is: the newest record already says that revision is deployed, and a
no-op sync must make no write request.

Whether an app ever synced successfully decides whether its hooks are
install or upgrade hooks, so a run of failures never pushes the last success
out of the history.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gitward.kube import Kube
from gitward.record import store

DEFAULT_LIMIT = 10


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
    result: str  # "succeeded" | "failed"
    message: str = ""
    charts: tuple[str, ...] = ()  # "name@version"
    counts: dict[str, int] = field(default_factory=dict)
    actions: tuple[ObjectAction, ...] = ()  # every object that changed or failed

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> SyncRecord:
        doc = dict(doc)
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
                    "result": _TEXT,
                    "message": _TEXT,
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
    return f"gitward-history-{app}"


async def load(kube: Kube, app: str) -> list[SyncRecord]:
    """Newest first. Raises ``RecordCorrupt`` if the history does not decode."""
    doc = await store.read(kube, configmap_name(app), kind=KIND)
    return [SyncRecord.from_doc(r) for r in (doc or {}).get("records", [])]


def kept(records: list[SyncRecord], *, limit: int) -> list[SyncRecord]:
    """The newest ``limit`` of ``records`` (newest first), and the newest
    successful one after them when none of those succeeded."""
    out = records[: max(limit, 1)]
    succeeded = next((r for r in records if r.result == "succeeded"), None)
    if succeeded is not None and all(r is not succeeded for r in out):
        out.append(succeeded)
    return out


async def append(
    kube: Kube,
    record: SyncRecord,
    *,
    limit: int = DEFAULT_LIMIT,
    previous: list[SyncRecord] | None = None,
) -> None:
    """Add ``record`` as the newest; ``previous`` spares a read when the caller has it."""
    if previous is None:
        previous = await load(kube, record.app)
    records = kept([record, *previous], limit=limit)
    await store.write(
        kube,
        configmap_name(record.app),
        {"records": [r.to_doc() for r in records]},
        labels={"gitward.io/app": record.app, "gitward.io/record": "history"},
    )
