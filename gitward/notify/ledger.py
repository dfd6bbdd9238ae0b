"""What was delivered to whom, kept in the cluster beside the app's history.

One ConfigMap per app (``gitward-notify-<app key>``; the repository's own
events in ``gitward-notify``), through :mod:`gitward.record.store` like the
history and inventory. Each delivery (an event's id and a provider) is
written ``pending`` with its message before the first attempt, then ``sent``
or ``failed`` (given up). A new leader finds the ``pending`` ones and carries
on with them, within the original retry deadline; a ``sent`` or ``failed``
one is never tried again.

A leader that dies after the receiver accepted a message and before writing
``sent`` leaves it ``pending``, and the next leader sends it again, with the
same id (``X-Gitward-Delivery``), so a receiver can tell it already has it.
That window is one ConfigMap write long.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gitward.kube import Kube
from gitward.record import store

PREFIX = "gitward-notify"
LABEL = "notifications"
#: Deliveries remembered per app; older ones are never sent again anyway: their
#: events are long past, and a new one at a new revision has a new id.
KEEP = 200


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # given up after the retry deadline, or refused for good


@dataclass(frozen=True)
class Delivery:
    id: str
    provider: str
    event: str
    state: DeliveryState
    since: float  # Unix time of the first attempt: the retry deadline counts from it
    attempts: int = 0
    error: str = ""
    message: dict[str, Any] | None = None  # the notification, kept while pending

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id,
            "provider": self.provider,
            "event": self.event,
            "state": self.state.value,
            "since": self.since,
            "attempts": self.attempts,
            "error": self.error,
        }
        if self.message is not None and self.state is DeliveryState.PENDING:
            doc["message"] = self.message
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Delivery:
        return cls(
            id=doc["id"],
            provider=doc["provider"],
            event=doc["event"],
            state=DeliveryState(doc["state"]),
            since=float(doc["since"]),
            attempts=int(doc.get("attempts", 0)),
            error=str(doc.get("error", "")),
            message=doc.get("message"),
        )


_TEXT = {"type": "string"}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["deliveries"],
    "properties": {
        "deliveries": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "provider", "event", "state", "since"],
                "properties": {
                    "id": _TEXT,
                    "provider": _TEXT,
                    "event": _TEXT,
                    "state": {"enum": [s.value for s in DeliveryState]},
                    "since": {"type": "number"},
                    "attempts": {"type": "integer", "minimum": 0},
                    "error": _TEXT,
                    "message": {"type": "object"},
                },
            },
        }
    },
}

KIND = store.RecordKind(
    what="notification delivery",
    schema=SCHEMA,
    remedy=(
        "delete it (kubectl -n {namespace} delete configmap {name}); at worst a "
        "notification already delivered is sent again"
    ),
)


def configmap_name(key: str) -> str:
    """``key``: an app's record key, or "" for the repository's own events."""
    return f"{PREFIX}-{key}" if key else PREFIX


async def load(kube: Kube, key: str) -> list[Delivery]:
    """Newest first. Raises ``RecordCorrupt`` if the record does not decode."""
    doc = await store.read(kube, configmap_name(key), kind=KIND)
    return [Delivery.from_doc(d) for d in (doc or {}).get("deliveries", [])]


async def save(kube: Kube, key: str, deliveries: list[Delivery]) -> None:
    """Write ``deliveries`` (newest first), the pending ones kept however old."""
    pending = [d for d in deliveries if d.state is DeliveryState.PENDING]
    done = [d for d in deliveries if d.state is not DeliveryState.PENDING]
    kept = {(d.id, d.provider) for d in [*pending, *done[: max(KEEP - len(pending), 0)]]}
    await store.write(
        kube,
        configmap_name(key),
        {"deliveries": [d.to_doc() for d in deliveries if (d.id, d.provider) in kept]},
        labels={"gitward.io/record": LABEL, **({"gitward.io/app": key} if key else {})},
    )


async def keys_with_records(kube: Kube) -> list[str]:
    """The app keys (and "" for the repository) that have a delivery record."""
    cm = await kube.resource_for("v1", "ConfigMap")
    assert cm is not None
    items, _ = await kube.list(
        cm, namespace=store.record_namespace(), label_selector=f"gitward.io/record={LABEL}"
    )
    out = []
    for body in items:
        name = str((body.get("metadata") or {}).get("name", ""))
        if name == PREFIX:
            out.append("")
        elif name.startswith(PREFIX + "-"):
            out.append(name.removeprefix(PREFIX + "-"))
    return sorted(out)


async def forget(kube: Kube, key: str) -> None:
    """Drop an app's delivery record (the app left gitward.yaml)."""
    await store.delete(kube, configmap_name(key))
