"""What a promotion or rollback reads from the cluster, as a seam.

The CLI implements it with the same engine ``gitward diff`` and ``gitward
status`` use (through :mod:`gitward.reconcile` and :mod:`gitward.status`), so
this package never holds a Kubernetes client itself; tests can hand it a fake.
"""

from __future__ import annotations

from typing import Protocol

from gitward.config.apps import AppSpec
from gitward.objects import Manifest
from gitward.plan.model import Plan
from gitward.record.history import SyncRecord
from gitward.source.revisions import Revision
from gitward.status import AppStatus


class SyncHistory(Protocol):
    """All a rollback reads from the cluster."""

    async def history(self, app: AppSpec) -> list[SyncRecord]:
        """The app's recorded syncs, newest first."""
        ...


class ClusterView(SyncHistory, Protocol):
    async def plan(self, app: AppSpec, manifests: tuple[Manifest, ...]) -> Plan:
        """A server-side dry-run of ``manifests`` against the live cluster, with diffs."""
        ...

    async def status(
        self, app: AppSpec, manifests: tuple[Manifest, ...], revision: Revision
    ) -> AppStatus: ...
