"""The controller: keeps every app of a config repository in sync, continuously.

It reuses the deploy engine (:func:`gitward.reconcile.sync_app`) for every sync and
adds what a CI job cannot do: it watches each managed object and, the moment
a field gitward manages changes or the object disappears, records who did it
and (with ``selfHeal``) re-applies just that object.

This module is the loop: fetch git, decide which apps a commit touches, retire
apps that left ``gitward.yaml``, and reconcile every app on a jittered period
whatever git says. The jobs it hands out each have a room of their own:

- :mod:`~gitward.heal.reconciling`: one app, rendered and synced or planned;
- :mod:`~gitward.heal.tracking`: what each app manages, watched, with events
  parked while the app is being written;
- :mod:`~gitward.heal.healing`: drift judged, recorded and put back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from gitward.api.metrics import ControllerMetrics, Registry, controller_metrics
from gitward.config.apps import AppSpec, RepoConfig
from gitward.config.loader import FILENAME, load_repo_config
from gitward.errors import GitwardError
from gitward.forge import Forge, PullRequestEvent
from gitward.heal.affected import is_affected
from gitward.heal.deploying import DeployReporter
from gitward.heal.gate import CommitGate
from gitward.heal.healing import Healer
from gitward.heal.logs import event
from gitward.heal.previewing import Previewer
from gitward.heal.reconciling import Reconciler
from gitward.heal.scheduling import Blocker, dependency_blocker, reconcile_in_order
from gitward.heal.state import AppState, ControllerOptions, Tracked
from gitward.heal.tracking import Tracker
from gitward.health import Health, HealthStatus, aggregate, assess
from gitward.kube import Kube
from gitward.notify import ledger as notify_records
from gitward.notify.opening import open_notices
from gitward.objects import ObjectRef
from gitward.plan.namespaces import known_namespaces
from gitward.record.drifts import DriftRecord
from gitward.record.history import SyncOutcome
from gitward.retire import retire_removed
from gitward.review import deploys as deploy_records
from gitward.source import GitSource
from gitward.source.opening import source_of
from gitward.source.revisions import Revision
from gitward.status import SyncState

log = logging.getLogger("gitward.controller")


class Controller:
    """Reconciles from git and heals drift; :meth:`lead` runs it until cancelled."""

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
        self.apps: dict[str, AppState] = {}
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
        self._reconciler = Reconciler(
            kube=kube,
            options=options,
            metrics=self.metrics,
            tracker=self._tracker,
            notices=self.notices,
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

    # -- the loop ----------------------------------------------------------

    def trigger(self) -> None:
        """Fetch git now (a webhook arrived) instead of at the next poll."""
        self._trigger.set()

    async def lead(self) -> None:
        """Reconcile until cancelled. Failures are recorded and retried, never fatal.

        Every start (a new leader, or a loop restarted after a crash) reconciles
        every app afresh, which also re-opens the watches of the objects they track.
        """
        self.revision = None
        self.ready.clear()
        self._tracker.open(on_event=self._healer.on_event, on_restart=self._watch_restarted)
        await self.notices.start()
        delay = 1.0
        try:
            while True:
                try:
                    await self.refresh()
                    delay = 1.0
                    wait = self.options.poll_interval
                except (GitwardError, OSError) as e:
                    # API server or git unreachable: keep serving, retry with backoff.
                    log.warning("reconcile failed, retrying in %.0fs: %s", delay, e)
                    wait, delay = delay, min(delay * 2, 60.0)
                self.ready.set()
                wait = min(wait, max(self._next_full - time.monotonic(), 0.1))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._trigger.wait(), timeout=wait)
                self._trigger.clear()
        finally:
            await self.notices.stop()
            await self._tracker.close()

    async def refresh(self) -> None:
        """Fetch the branch; reconcile the apps the new commit touches (all, the first time)."""
        started = time.monotonic()
        try:
            rev = await asyncio.to_thread(self.source.resolve, self.options.revision)
            self.git_error = ""
        except GitwardError as e:
            self.git_error = str(e)  # keep serving the last good revision
            return
        finally:
            self.metrics.git_fetch_duration_seconds.observe(time.monotonic() - started)
        admitted = await self.gate.admit(rev, current=self.revision, config=self.config)
        if admitted is None:
            return  # refused, and nothing verified to run instead
        rev = admitted
        full = time.monotonic() >= self._next_full
        if self.revision is not None and rev.sha == self.revision.sha:
            if full:
                await self._reconcile_all(rev)
                return
            # Nothing new in git; apps whose last reconcile failed (API server
            # down, a chart repo unreachable) are retried on every poll.
            if self._retire_pending and self.config is not None:
                await self._retire_removed(self.config)
            await self._retry_failed(rev)
            return
        checkout = await asyncio.to_thread(self.source.checkout, rev.sha)
        changed = None
        if self.revision is not None and not full:
            changed = await asyncio.to_thread(self.source.changed_paths, self.revision.sha, rev.sha)
        try:
            config = load_repo_config(checkout.path).from_source(self.source_id)
        except GitwardError as e:
            self.git_error = str(e)
            return
        first = self.revision is None
        if changed is None or FILENAME in changed:
            self._retire_pending = True
        self.config, self.revision = config, rev
        if self._retire_pending:
            await self._retire_removed(config)
        for spec in config.apps:
            state = self.apps.get(spec.name)
            if state is None:
                state = self.apps[spec.name] = AppState(spec=spec)
            state.spec = spec
        if changed is None:
            if not first:
                event("full-reconcile", apps=str(len(config.apps)), revision=rev.sha[:12])
            self._schedule_full()
        batch: list[AppSpec] = []
        for spec in config.apps:
            read_before = self.apps[spec.name].inputs
            if changed is None or is_affected(spec, checkout.path, changed, also=read_before):
                batch.append(spec)
            else:
                self.apps[spec.name].revision = rev.sha
        await self._reconcile_batch(batch, checkout.path, rev)
        if changed is None:
            self._schedule_full()  # counted from the end: a long cold start is not redone at once

    async def _retire_removed(self, config: RepoConfig) -> None:
        """Apps gone from gitward.yaml: stop tracking them, then prune what they owned
        (or orphan it, if they did not prune) and delete their records."""
        names = {spec.name for spec in config.apps}
        # First let go of their objects: a prune must not look like drift to heal.
        self._tracker.keep_only(names)
        for name in [n for n in self.apps if n not in names]:
            del self.apps[name]
        keys = {spec.id.key for spec in config.apps}
        try:
            retired = await retire_removed(self.kube, source=self.source_id, keys=keys)
        except GitwardError as e:
            # The API server may be down: the apps still get their status, and
            # the next refresh tries the removal again.
            event("error", logging.WARNING, error=f"removing apps gone from gitward.yaml: {e}")
            return
        self._retire_pending = False
        for done in retired:
            event(
                "retired",
                logging.INFO if done.ok else logging.WARNING,
                app=done.app,
                pruned=str(len(done.pruned)),
                orphaned=str(len(done.orphaned)),
                kept=str(len(done.kept)),
                failed="; ".join(f"{ref}: {why}" for ref, why in done.failed),
            )
            if done.ok:
                # Its deploy statuses' ledger goes with its other records.
                with contextlib.suppress(GitwardError):
                    await deploy_records.forget(self.kube, done.app)
                    await notify_records.forget(self.kube, done.app)

    def _schedule_full(self) -> None:
        interval = self.options.full_reconcile_interval
        self._next_full = time.monotonic() + interval * random.uniform(0.9, 1.1)

    async def _reconcile_all(self, rev: Revision) -> None:
        """Re-render and re-plan every app at ``rev``, affected or not."""
        self._schedule_full()
        assert self.config is not None
        checkout = await asyncio.to_thread(self.source.checkout, rev.sha)
        event("full-reconcile", apps=str(len(self.config.apps)), revision=rev.sha[:12])
        await self._reconcile_batch(self.config.apps, checkout.path, rev)
        self._schedule_full()

    async def _retry_failed(self, rev: Revision) -> None:
        again = (SyncOutcome.FAILED, SyncOutcome.SKIPPED)
        failed = [s.spec for s in self.apps.values() if s.last_sync_result in again]
        if not failed:
            return
        checkout = await asyncio.to_thread(self.source.checkout, rev.sha)
        await self._reconcile_batch(failed, checkout.path, rev)

    async def _reconcile_batch(self, specs: Sequence[AppSpec], root: Path, rev: Revision) -> None:
        """Reconcile ``specs`` (in ``dependsOn`` order) concurrently, bounded by
        ``max_concurrent_syncs``; an app waits for its dependencies in the batch."""
        if not specs:
            return
        order = {spec.name: i for i, spec in enumerate(self.config.apps if self.config else ())}
        # Every app's plan asks which namespaces exist: list them once for all.
        known = await known_namespaces(self.kube) if len(specs) > 1 else None
        await reconcile_in_order(
            sorted(specs, key=lambda s: order.get(s.name, len(order))),
            lambda spec: self.reconcile_app(spec, root, rev, known_namespaces=known),
            limit=self.options.max_concurrent_syncs,
            blocker=self._blocker,
            skip=self._skip,
            settle_timeout=self.options.sync_timeout,
        )

    def _blocker(self, dep: str) -> Blocker:
        """Whether app ``dep`` is Synced and Healthy, so apps depending on it may start."""
        return dependency_blocker(self.apps.get(dep), self.health_of(dep))

    def _skip(self, spec: AppSpec, reason: str) -> None:
        state = self.apps[spec.name]
        state.message, state.last_sync_result = reason, SyncOutcome.SKIPPED
        event("skipped", logging.WARNING, app=spec.name, reason=reason)

    async def sync_now(self, name: str) -> None:
        """Sync app ``name`` at the revision last read from git, autoSync or not."""
        state, rev = self.apps.get(name), self.revision
        if state is None or rev is None:
            return
        checkout = await asyncio.to_thread(self.source.checkout, rev.sha)
        await self.reconcile_app(state.spec, checkout.path, rev, force=True)

    async def reconcile_app(
        self,
        spec: AppSpec,
        root: Path,
        rev: Revision,
        *,
        force: bool = False,
        known_namespaces: Mapping[str, bool] | None = None,
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
            spec, state, root, rev, force=force, known_namespaces=known_namespaces
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
        healths = [assess(t.live) for t in self.tracked.values() if t.app == app]
        return aggregate(healths) if healths else None

    async def close(self) -> None:
        """Let go of the forge: previews and deploy statuses in flight are abandoned."""
        if self.previewer is not None:
            await self.previewer.close()
        if self.deploys is not None:
            await self.deploys.close()
        if self._forge is not None:
            await self._forge.aclose()

    def _health_news(self, app: str, current: str) -> tuple[HealthStatus, str]:
        status = HealthStatus(current)
        if status is not HealthStatus.DEGRADED:
            return status, ""
        health = self.health_of(app)  # for the reason only: degraded is rare
        return status, health.message if health else ""

    def _watch_restarted(self, resource: str) -> None:
        self.metrics.watch_restarts_total.labels(resource=resource).inc()

    # -- metrics ---------------------------------------------------------------

    def publish_app_gauges(self, health: dict[str, str]) -> None:
        """Per-app sync status and health as gauges (1 for the current value), for alerts.

        Called every few seconds: only the apps whose status or health changed
        are published again, so a thousand idle apps cost one comparison each."""
        for name, state in self.apps.items():
            current = health.get(name, HealthStatus.UNKNOWN.value)
            shown = (state.sync, current, name in health)
            if self._published.get(name) == shown:
                continue
            self._published[name] = shown
            self.metrics.app_status.set(name, sync=state.sync.value, health=current)
            if self.notices.active and name in health:
                self.notices.health(state.spec, state.revision, *self._health_news(name, current))

    # -- views -------------------------------------------------------------------

    @property
    def tracked(self) -> dict[ObjectRef, Tracked]:
        return self._tracker.objects

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


__all__ = ["AppState", "Controller", "ControllerOptions", "Tracked"]
