"""What a batch of apps reads once instead of once per app: namespaces and records.

Every app's plan asks which namespaces exist, and every sync reads the app's
inventory and history before its first write. For a batch (a cold start, a
full reconcile, a commit that touches many apps) the namespaces come from
the controller's watch of them (:mod:`gitward.heal.namespaces`), or one LIST
when it may not watch them, and the records from one LIST of the records
namespace (:mod:`gitward.record.snapshot`). A sync outside the batch that
writes an app's records while the batch runs makes the batch read them anew.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from gitward.heal.namespaces import NamespaceWatch
from gitward.kube import Kube, KubeError
from gitward.plan.namespaces import known_namespaces
from gitward.record import apprecords
from gitward.record.snapshot import RecordSnapshot, snapshot


@dataclass(frozen=True)
class Shared:
    """For every app of one batch; ``None``: each app reads its own."""

    namespaces: Mapping[str, bool] | None = None
    records: RecordSnapshot | None = None


class BatchReads:
    def __init__(self, *, kube: Kube) -> None:
        self.kube = kube
        self.namespaces = NamespaceWatch(kube=kube)
        self._snapshots: list[RecordSnapshot] = []  # of the batches under way

    def open(self) -> None:
        self.namespaces.open()

    async def close(self) -> None:
        await self.namespaces.close()

    @asynccontextmanager
    async def batch(self, apps: int) -> AsyncIterator[Shared]:
        """What ``apps`` apps about to be reconciled share."""
        known: Mapping[str, bool] | None = await self.namespaces.listed()
        if known is None and apps > 1:
            known = await known_namespaces(self.kube)
        records = await self._records() if apps > 1 else None
        if records is not None:
            self._snapshots.append(records)
        try:
            yield Shared(namespaces=known, records=records)
        finally:
            if records is not None:
                self._snapshots.remove(records)

    def writing(self, key: str) -> None:
        """A sync outside any batch is about to write the records of app ``key``."""
        for records in self._snapshots:
            records.forget(*apprecords.names(key))

    async def _records(self) -> RecordSnapshot | None:
        """``None`` when the records cannot be listed: each sync then reads its own,
        and says what is wrong if that fails too."""
        try:
            return await snapshot(self.kube)
        except KubeError:
            return None


__all__ = ["BatchReads", "Shared"]
