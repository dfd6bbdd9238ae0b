"""Every record in the records namespace, read by one LIST, for many syncs to share.

A sync reads its app's inventory and history before its first write. A
controller reconciling a thousand apps at once would send two thousand GETs
for them, most answering 404 on a cold start; one paginated LIST of the
records namespace answers them all. Each app's records are written only by
its own sync, and an app is synced once per batch, so what the LIST read is
what a GET would read when the app's turn comes.

Each record is taken once: a second read of the same record (a sync that
wrote it in between) asks the API server again, and so does the read of a
record another sync wrote meanwhile (:meth:`RecordSnapshot.forget`). Only what a read checks is
kept of each ConfigMap (its document and which managers hold it), so the
snapshot of a thousand apps stays small while it waits for their turns.
"""

from __future__ import annotations

from gitward.kube import Kube
from gitward.objects import Body
from gitward.record.store import KEY, record_namespace


class RecordSnapshot:
    """ConfigMaps of the records namespace by name, each handed out once."""

    def __init__(self, bodies: dict[str, Body]) -> None:
        self._bodies = bodies
        self._taken: set[str] = set()

    def take(self, name: str) -> tuple[bool, Body | None]:
        """``(True, body)``, ``body`` ``None`` when there was no such ConfigMap;
        ``(False, None)`` when it was taken before and must be read afresh."""
        if name in self._taken:
            return False, None
        self._taken.add(name)
        return True, self._bodies.pop(name, None)

    def forget(self, *names: str) -> None:
        """Records written since the LIST, by a sync outside the batch: read them afresh."""
        for name in names:
            self._taken.add(name)
            self._bodies.pop(name, None)

    def __len__(self) -> int:
        return len(self._bodies)


async def snapshot(kube: Kube) -> RecordSnapshot:
    """The records namespace as it is now (one LIST, paginated; each page slimmed
    before the next is read)."""
    cm = await kube.resource_for("v1", "ConfigMap")
    assert cm is not None
    bodies: dict[str, Body] = {}
    async for page, _ in kube.pages(cm, namespace=record_namespace()):
        bodies.update((str(b["metadata"]["name"]), _slim(b)) for b in page)
    return RecordSnapshot(bodies)


def _slim(body: Body) -> Body:
    """What :func:`gitward.record.store.read` checks: the document and who wrote it."""
    meta = body.get("metadata") or {}
    data = (body.get("binaryData") or {}).get(KEY)
    return {
        "metadata": {
            "name": meta.get("name", ""),
            "namespace": meta.get("namespace", ""),
            "managedFields": [
                {"manager": e.get("manager", ""), "fieldsV1": {"f:binaryData": {}}}
                for e in meta.get("managedFields") or []
                if "f:binaryData" in (e.get("fieldsV1") or {})
            ],
        },
        "binaryData": {KEY: data} if data is not None else {},
    }


__all__ = ["RecordSnapshot", "snapshot"]
