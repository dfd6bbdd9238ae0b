"""What a promotion or rollback reads from the cluster, as a seam.

The CLI implements it with the same engine ``gitward diff`` and ``gitward
status`` use (through :mod:`gitward.reconcile` and :mod:`gitward.status`), so
this package never holds a Kubernetes client itself; tests can hand it a fake.
Its dry-run alone is :class:`gitward.promote.proposing.DryRun`, the only part a
pull request needs (and one the build side, which has no cluster, goes without).
"""

from __future__ import annotations

from typing import Protocol

from gitward.config.apps import AppSpec
from gitward.objects import Manifest
from gitward.promote.proposing import DryRun
from gitward.record.history import SyncRecord
from gitward.source.revisions import Revision
from gitward.status import AppStatus


class SyncHistory(Protocol):
    """All a rollback reads from the cluster."""

    async def history(self, app: AppSpec) -> list[SyncRecord]:
        """The app's recorded syncs, newest first."""
        ...


class ClusterView(DryRun, SyncHistory, Protocol):
    async def status(
        self, app: AppSpec, manifests: tuple[Manifest, ...], revision: Revision
    ) -> AppStatus: ...
