"""The controller's parts and what it tells the API, the UI and the metrics.

:class:`ControllerCore` wires the rooms the loop hands work to (the tracker,
the healer, the reconciler, the commit gate, previews and deploy statuses)
and answers for one app at a time: sync it now, reconcile it, its health,
what it tracks. The loop that decides *when* each app is reconciled is
:class:`gitward.heal.controller.Controller`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from gitward.api.metrics import ControllerMetrics, Registry, controller_metrics
from gitward.config.apps import AppSpec, RepoConfig
from gitward.forge import Forge, PullRequestEvent
from gitward.heal.batches import BatchReads
from gitward.heal.deploying import DeployReporter
from gitward.heal.gate import CommitGate
from gitward.heal.gauges import publish_app_gauges
from gitward.heal.healing import Healer
from gitward.heal.previewing import Previewer
from gitward.heal.reconciling import Reconciler
from gitward.heal.shards import Assignment
from gitward.heal.state import AppState, ControllerOptions, Tracked
from gitward.heal.tracking import Tracker
from gitward.health import Health, aggregate, assess
from gitward.kube import Kube
from gitward.notify.opening import open_notices
from gitward.objects import ObjectRef
from gitward.record.drifts import DriftRecord
from gitward.record.snapshot import RecordSnapshot
from gitward.source import GitSource
from gitward.source.opening import source_of
from gitward.source.revisions import Revision
from gitward.status import SyncState


class ControllerCore:
    """The controller's parts, its per-app actions and its views; no loop."""

    def __init__(
        self,
        *,
        kube: Kube,
        source: GitSource,
        options: ControllerOptions,
        metrics: ControllerMetrics | None = None,
        forge: Forge | None = None,  # else opened from ``options.forge``
    ) -> None:
        self.kube = kube
        self.source = source
        self.options = options
        # Without a registry to publish to, the metrics are kept and never shown.
        self.metrics = metrics if metrics is not None else controller_metrics(Registry())
        self.apps: dict[str, AppState] = {}  # the apps served here, by name
        # Which apps are this replica's: all of them unless sharded.
        self.assignment = Assignment()
        self.config: RepoConfig | None = None
        self.revision: Revision | None = None
        self.git_error = ""
        self.ready = asyncio.Event()
        self._trigger = asyncio.Event()
        self._tracker = Tracker(kube=kube)
        if forge is None and options.forge is not None:
            forge = options.forge.open()
        self._forge = forge
        self.notices = open_notices(kube=kube, options=options, forge=forge, metrics=self.metrics)
        self._healer = Healer(
            kube=kube,
            tenancy=options.tenancy,
            metrics=self.metrics,
            apps=self.apps,
            tracker=self._tracker,
            notices=self.notices,
        )
        self._shared = BatchReads(kube=kube)
        self._reconciler = Reconciler(
            kube=kube,
            options=options,
            metrics=self.metrics,
            tracker=self._tracker,
            notices=self.notices,
            namespaces=self._shared.namespaces,
        )
        self.source_id = source_of(options.repo)
        self.gate = CommitGate(
            kube=kube,
            source=source,
            options=options,
            metrics=self.metrics,
            source_id=self.source_id,
            notices=self.notices,
        )
        self.previewer: Previewer | None = None
        self.deploys: DeployReporter | None = None
        if forge is not None:
            apps_url = options.public_url.rstrip("/") + "/api/v1/apps"
            self.previewer = Previewer(
                kube=kube,
                source=source,
                source_id=self.source_id,
                forge=forge,
                options=options,
                target_url=apps_url,
            )
            self.deploys = DeployReporter(
                kube=kube,
                forge=forge,
                health_of=self.health_of,
                target_url=lambda app: f"{apps_url}/{app}",
                timeout=options.sync_timeout,
            )
        self._next_full = 0.0  # monotonic time of the next full reconcile
        self._retire_pending = False  # apps left gitward.yaml and are not retired yet
        self._published: dict[str, tuple[SyncState, str, bool]] = {}  # per app, in the gauges

    async def sync_now(self, name: str) -> None:
        """Sync app ``name`` at the revision last read from git, autoSync or not."""
        state, rev = self.apps.get(name), self.revision
        if state is None or rev is None:
            return
        checkout = await asyncio.to_thread(self.source.checkout, rev.sha)
        self._shared.writing(state.spec.id.key)
        await self.reconcile_app(
            state.spec,
            checkout.path,
            rev,
            force=True,
            known_namespaces=self._shared.namespaces.current,
        )

    async def reconcile_app(
        self,
        spec: AppSpec,
        root: Path,
        rev: Revision,
        *,
        force: bool = False,
        known_namespaces: Mapping[str, bool] | None = None,
        records: RecordSnapshot | None = None,
    ) -> None:
        """Sync (autoSync, or ``force``) or just plan one app; a failure is kept in its status.

        A sync of a revision new to the app is reported on that commit
        (``gitward/deploy/<app>``) when a forge is configured.
        """
        state = self.apps[spec.name]
        synced = spec.auto_sync or force
        deploying = self.deploys is not None and synced and state.revision != rev.sha
        if self.deploys is not None and deploying:
            await self.deploys.applying(spec, rev.sha)
        await self._reconciler.reconcile(
            spec,
            state,
            root,
            rev,
            force=force,
            known_namespaces=known_namespaces,
            records=records,
        )
        await self._healer.release(spec.name)
        if self.deploys is not None and deploying:
            failed = "" if state.revision == rev.sha else (state.message or "the sync failed")
            self.deploys.applied(spec, rev.sha, failed_because=failed)

    def preview(self, pull: PullRequestEvent) -> bool:
        """Preview a pull request (a verified webhook); False when no forge is configured."""
        if self.previewer is None:
            return False
        self.previewer.submit(pull)
        return True

    def health_of(self, app: str) -> Health | None:
        """The app's health from the bodies its watches delivered (None: nothing tracked)."""
        healths = [assess(t.live) for t in self.tracked_of(app)]
        return aggregate(healths) if healths else None

    async def close(self) -> None:
        """Let go of the forge: previews and deploy statuses in flight are abandoned."""
        if self.previewer is not None:
            await self.previewer.close()
        if self.deploys is not None:
            await self.deploys.close()
        if self._forge is not None:
            await self._forge.aclose()

    def _watch_restarted(self, resource: str) -> None:
        self.metrics.watch_restarts_total.labels(resource=resource).inc()

    # -- metrics ---------------------------------------------------------------

    def publish_app_gauges(self, health: dict[str, str]) -> None:
        """Per-app sync status and health as gauges (1 for the current value), for alerts."""
        publish_app_gauges(
            metrics=self.metrics,
            apps=self.apps,
            health=health,
            notices=self.notices,
            health_of=self.health_of,
            published=self._published,
        )

    # -- views -------------------------------------------------------------------

    @property
    def tracked(self) -> dict[ObjectRef, Tracked]:
        return self._tracker.objects

    def apps_changed_since(self, changes: int) -> list[str]:
        """The apps whose tracked objects or live bodies changed since
        :attr:`live_changes` was ``changes``."""
        return self._tracker.changed_since(changes)

    def tracked_of(self, app: str) -> list[Tracked]:
        """The tracked objects of ``app``: its own, without a walk of every app's."""
        return self._tracker.of_app(app)

    @property
    def live_changes(self) -> int:
        """Grows whenever a tracked object's live body, or the set of them, changes."""
        return self._tracker.changes

    @property
    def down(self) -> dict[str, str]:
        """Watches that failed and wait for their restart: name to the reason."""
        return self._tracker.down

    @property
    def heal_applies(self) -> int:
        """How many heals were sent to the API server."""
        return self._healer.applies

    def fighting(self, app: str) -> str:
        """Whom the app is fighting with, while the other writer keeps coming back."""
        return self._healer.fighting(app)

    def drift_records(self, app: str) -> list[DriftRecord]:
        state = self.apps.get(app)
        return list(state.drifts) if state else []


__all__ = ["ControllerCore"]
