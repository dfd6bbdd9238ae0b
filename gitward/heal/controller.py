"""The controller: keeps every app of a config repository in sync, continuously.

It reuses the deploy engine (:func:`gitward.reconcile.sync_app`) for every sync and
adds what a CI job cannot do: it watches each managed object and, the moment
a field gitward manages changes or the object disappears, records who did it
and (with ``selfHeal``) re-applies just that object.

Two fingerprints from the engine's inventory make detection exact and cheap:
the object's uid and the hash of the fields gitward manages. An event whose
gitward field set still hashes the same is not drift, whatever else changed
(status, an extra label, fields an app ignores).

While a sync or a heal of an app runs, events for its objects are parked and
judged afterwards against the new fingerprints, so gitward never mistakes its
own writes for drift.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import replace
from pathlib import Path

from gitward.api.metrics import ControllerMetrics, Registry, controller_metrics
from gitward.config.apps import AppSpec, RepoConfig
from gitward.config.loader import FILENAME, load_repo_config
from gitward.errors import GitwardError, RecordCorrupt, RenderError
from gitward.heal import backoff, events
from gitward.heal.affected import is_affected
from gitward.heal.drift import fingerprint, judge
from gitward.heal.logs import event
from gitward.heal.state import AppState, ControllerOptions, Tracked, now
from gitward.heal.watches import WatchHub
from gitward.health import HealthStatus
from gitward.kube import Kube
from gitward.objects import Body, ObjectRef
from gitward.plan.inventory import Inventory, InventoryEntry, fields_hash, values_hash
from gitward.plan.model import Plan
from gitward.plan.objects import with_live_ignored
from gitward.reconcile import (
    PlanInvalid,
    RecordsOwnedElsewhere,
    SyncOptions,
    plan_app,
    record_unrendered,
    sync_app,
)
from gitward.record import inventory as inventories
from gitward.record.drifts import DriftKind, DriftOutcome, DriftRecord
from gitward.record.history import SyncOutcome
from gitward.render import RenderCache, render_app
from gitward.retire import retire_removed
from gitward.source import GitSource
from gitward.source.opening import source_of
from gitward.source.revisions import Revision
from gitward.status import SyncState
from gitward.tenancy import client_for

log = logging.getLogger("gitward.controller")


def _is_ownership_conflict(e: GitwardError | Plan) -> bool:
    if isinstance(e, Plan):
        return any(x.ownership for x in e.errors)
    return isinstance(e, RecordsOwnedElsewhere)


class Controller:
    """Reconciles from git and heals drift; :meth:`lead` runs it until cancelled."""

    def __init__(
        self,
        *,
        kube: Kube,
        source: GitSource,
        options: ControllerOptions,
        metrics: ControllerMetrics | None = None,
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
        self._tracked: dict[ObjectRef, Tracked] = {}
        self._parked: dict[ObjectRef, tuple[str, Body]] = {}
        self._backoffs = backoff.Backoffs()
        self._trigger = asyncio.Event()
        self._hub: WatchHub | None = None
        self._render_cache = RenderCache()
        self.heal_applies = 0
        self.source_id = source_of(options.repo)
        self._next_full = 0.0  # monotonic time of the next full reconcile
        self._retire_pending = False  # apps left gitward.yaml and are not retired yet

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
        self._hub = WatchHub(
            kube=self.kube, on_event=self._on_event, on_restart=self._watch_restarted
        )
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
            for t in self._tracked.values():
                if t.heal_task is not None:
                    t.heal_task.cancel()
            await self._hub.close()
            self._hub = None

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
        for spec in config.apps:
            read_before = self.apps[spec.name].inputs
            if changed is None or is_affected(spec, checkout.path, changed, also=read_before):
                await self.reconcile_app(spec, checkout.path, rev)
            else:
                self.apps[spec.name].revision = rev.sha

    async def _retire_removed(self, config: RepoConfig) -> None:
        """Apps gone from gitward.yaml: stop tracking them, then prune what they owned
        (or orphan it, if they did not prune) and delete their records."""
        names = {spec.name for spec in config.apps}
        # First let go of their objects: a prune must not look like drift to heal.
        for ref in [r for r, t in self._tracked.items() if t.app not in names]:
            task = self._tracked.pop(ref).heal_task
            if task is not None:
                task.cancel()
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

    def _schedule_full(self) -> None:
        interval = self.options.full_reconcile_interval
        self._next_full = time.monotonic() + interval * random.uniform(0.9, 1.1)

    async def _reconcile_all(self, rev: Revision) -> None:
        """Re-render and re-plan every app at ``rev``, affected or not."""
        self._schedule_full()
        assert self.config is not None
        checkout = await asyncio.to_thread(self.source.checkout, rev.sha)
        event("full-reconcile", apps=str(len(self.config.apps)), revision=rev.sha[:12])
        for spec in self.config.apps:
            await self.reconcile_app(spec, checkout.path, rev)

    async def _retry_failed(self, rev: Revision) -> None:
        failed = [s.spec for s in self.apps.values() if s.last_sync_result is SyncOutcome.FAILED]
        if not failed:
            return
        checkout = await asyncio.to_thread(self.source.checkout, rev.sha)
        for spec in failed:
            await self.reconcile_app(spec, checkout.path, rev)

    async def reconcile_app(self, spec: AppSpec, root: Path, rev: Revision) -> None:
        """Sync (autoSync) or just plan one app; a failure is kept in its status."""
        state = self.apps[spec.name]
        info = rev
        started = time.monotonic()
        async with state.lock:
            state.busy = True
            try:
                rendered = await asyncio.to_thread(
                    render_app, app=spec, root=root, cache=self._render_cache
                )
                state.inputs = rendered.inputs
                options = SyncOptions(
                    timeout=self.options.sync_timeout,
                    concurrency=self.options.concurrency,
                    policy=self.options.tenancy.policy,
                )
                as_app = self._client_for(spec)
                # Without selfHeal, drift is only reported: an app is synced for a
                # new revision, never just because a periodic reconcile came round.
                if spec.auto_sync and (spec.self_heal or state.revision != rev.sha):
                    result = await sync_app(
                        kube=self.kube,
                        app=spec,
                        manifests=rendered.manifests,
                        revision=info,
                        charts=tuple(f"{c.name}@{c.version}" for c in rendered.charts),
                        options=options,
                        as_app=as_app,
                    )
                    plan, inv = result.plan, result.inventory
                    state.last_sync_result = result.outcome
                    state.last_sync_at = result.recorded_at or now()
                    self.metrics.sync_total.labels(
                        app=spec.name, outcome=result.outcome.value
                    ).inc()
                    if _is_ownership_conflict(plan):
                        self.metrics.ownership_conflicts_total.labels(app=spec.name).inc()
                    failed = result.outcome is SyncOutcome.FAILED
                    state.sync = SyncState.OUT_OF_SYNC if failed else SyncState.SYNCED
                    message = result.reason
                    if failed:
                        event(
                            "sync-failed",
                            logging.WARNING,
                            app=spec.name,
                            revision=rev.sha[:12],
                            error=result.reason,
                        )
                    elif result.outcome is SyncOutcome.SUCCEEDED:
                        self.metrics.app_last_successful_sync_timestamp_seconds.labels(
                            app=spec.name
                        ).set(time.time())
                    if result.changes is not None and result.changes.wrote:
                        event(
                            "synced",
                            app=spec.name,
                            revision=rev.sha[:12],
                            changes=result.changes.summary(),
                            duration=f"{time.monotonic() - started:.3f}s",
                        )
                else:
                    plan, inv = await plan_app(
                        kube=self.kube,
                        app=spec,
                        manifests=rendered.manifests,
                        options=options,
                        diffs=False,
                        as_app=as_app,
                    )
                    state.sync = SyncState.SYNCED if plan.in_sync else SyncState.OUT_OF_SYNC
                    # It cannot be synced as it is: say why, as a failed sync would.
                    message = str(PlanInvalid(spec.name, plan.errors)) if plan.errors else ""
                    failed = False
                state.message = message
                if not failed:
                    # A failed sync keeps tracking what the last good one applied:
                    # healing towards a revision that did not sync would apply it piecemeal.
                    state.revision = rev.sha
                    await self._track(spec, plan, inv)
            except GitwardError as e:
                if isinstance(e, RenderError) and spec.auto_sync:
                    with contextlib.suppress(GitwardError):
                        # The render error is the news; a failure to record it is not.
                        await record_unrendered(kube=self.kube, app=spec, revision=info, error=e)
                # A record that does not decode says nothing about the cluster: Unknown.
                corrupt = isinstance(e, RecordCorrupt)
                state.sync = SyncState.UNKNOWN if corrupt else SyncState.OUT_OF_SYNC
                state.message, state.last_sync_result = str(e), SyncOutcome.FAILED
                event("error", logging.WARNING, app=spec.name, revision=rev.sha[:12], error=str(e))
                self.metrics.sync_total.labels(app=spec.name, outcome="failed").inc()
                if _is_ownership_conflict(e):
                    self.metrics.ownership_conflicts_total.labels(app=spec.name).inc()
            finally:
                state.busy = False
                self.metrics.reconcile_duration_seconds.labels(app=spec.name).observe(
                    time.monotonic() - started
                )
        await self._release_parked(spec.name)

    def _client_for(self, spec: AppSpec) -> Kube:
        """The client an app's own reads and writes go through; watches, records and
        Events stay on ``self.kube``, gitward's own identity."""
        return client_for(kube=self.kube, app=spec, tenancy=self.options.tenancy)

    # -- tracking ------------------------------------------------------------

    async def _track(self, spec: AppSpec, plan: Plan, inv: Inventory | None) -> None:
        entries: dict[ObjectRef, InventoryEntry] = inv.by_ref() if inv else {}
        keep: set[ObjectRef] = set()
        assert self._hub is not None
        for o in plan.managed():
            if o.desired is None:
                continue
            entry = entries.get(o.ref)
            old = self._tracked.get(o.ref)
            t = Tracked(
                app=spec.name,
                ref=o.ref,
                api_version=o.api_version,
                desired=o.desired,
                ignore=o.ignore,
                manager=plan.field_manager,
                uid=entry.uid if entry else "",
                fields_hash=entry.fields if entry else "",
                values_hash=entry.values if entry else "",
                fields=old.fields if old and entry and old.fields_hash == entry.fields else {},
                heal_task=old.heal_task if old else None,
                live=old.live if old else o.live,
            )
            self._tracked[o.ref] = t
            keep.add(o.ref)
            res = await self.kube.resource_for(o.api_version, o.ref.kind)
            if res is not None:
                self._hub.ensure(res, o.ref.namespace)
        for ref in [r for r, t in self._tracked.items() if t.app == spec.name and r not in keep]:
            del self._tracked[ref]

    async def _release_parked(self, app: str) -> None:
        for ref in [r for r, t in self._tracked.items() if t.app == app and r in self._parked]:
            kind, body = self._parked.pop(ref)
            await self._judge(kind, body)

    def _watch_restarted(self, resource: str) -> None:
        self.metrics.watch_restarts_total.labels(resource=resource).inc()

    async def _on_event(self, kind: str, body: Body) -> None:
        ref = ObjectRef.of(body)
        t = self._tracked.get(ref)
        if t is None:
            return
        t.live = None if kind == "DELETED" else body
        state = self.apps.get(t.app)
        if state is not None and (state.busy or (t.heal_task and not t.heal_task.done())):
            self._parked[ref] = (kind, body)
            return
        await self._judge(kind, body)

    async def _judge(self, kind: str, body: Body) -> None:
        t = self._tracked.get(ObjectRef.of(body))
        if t is None:
            return
        verdict = judge(t, kind, body)
        if verdict is not None:
            await self._drift(t, body, verdict.kind, verdict.fields, verdict.actor)

    @staticmethod
    def _fingerprint(t: Tracked, body: Body) -> None:
        fingerprint(t, body)

    # -- drift and heal ------------------------------------------------------

    async def _drift(
        self, t: Tracked, body: Body, kind: DriftKind, fields: tuple[str, ...], actor: str
    ) -> None:
        state = self.apps[t.app]
        if t.heal_task is not None and not t.heal_task.done():
            return  # already being put back
        if not state.spec.self_heal:
            # Left as it is, a drifted object keeps sending events (status, other
            # controllers): one hand edit is one record, until the object changes again.
            seen = (
                "" if kind is DriftKind.DELETED else str(body["metadata"].get("uid", "")),
                fields_hash(body, t.ignore, t.manager),
                values_hash(body, t.ignore, t.manager),
            )
            if seen == t.reported:
                return
            t.reported = seen
        record = DriftRecord(
            app=t.app,
            object=str(t.ref),
            kind=kind,
            fields=fields,
            actor=actor,
            detected_at=now(),
            detected_monotonic=time.monotonic(),
            outcome=DriftOutcome.PENDING if state.spec.self_heal else DriftOutcome.REPORTED,
        )
        self.metrics.drift_detected_total.labels(app=t.app, kind=kind.value).inc()
        event(
            "drift",
            app=t.app,
            object=str(t.ref),
            kind=kind.value,
            actor=actor,
            fields=",".join(fields),
        )
        await events.emit(
            self.kube,
            ref=t.ref,
            api_version=t.api_version,
            uid=t.uid,
            reason="DriftDetected",
            message=f"{kind.value} by {actor}: {', '.join(fields)}",
            warning=True,
        )
        if not state.spec.self_heal:
            state.sync = SyncState.OUT_OF_SYNC
            state.drifts.appendleft(record)
            return
        delay = self._backoffs.of(str(t.ref)).delay(time.monotonic(), actor=actor)
        state.drifts.appendleft(record)
        t.heal_task = asyncio.create_task(self._heal(t, record, delay))

    async def _heal(self, t: Tracked, record: DriftRecord, delay: float) -> None:
        """Put one drifted object back; a failure of any kind settles the record as failed."""
        try:
            await self._heal_once(t, record, delay)
        except Exception as e:
            # Nobody awaits this task: say why here, or the drift would stay pending forever.
            log.exception("%s: heal failed", t.ref)
            self._settle(
                self.apps[t.app], record, DriftOutcome.FAILED, message=f"{t.ref}: heal failed: {e}"
            )

    async def _heal_once(self, t: Tracked, record: DriftRecord, delay: float) -> None:
        state = self.apps[t.app]
        if delay:
            await asyncio.sleep(delay)
        async with state.lock:
            try:
                kube = self._client_for(state.spec)
                res = await kube.resource_for(t.api_version, t.ref.kind)
                live = None
                if res is not None:
                    live = await kube.get(res, name=t.ref.name, namespace=t.ref.namespace)
                body = with_live_ignored(t.desired, live, t.ignore)
                self.heal_applies += 1
                out = await kube.apply(body, force=True, field_manager=t.manager)
            except GitwardError as e:
                self._settle(state, record, DriftOutcome.FAILED, message=str(e))
                return
            self._fingerprint(t, out)
            self._backoffs.of(str(t.ref)).last_correction = time.monotonic()
            self._settle(state, record, DriftOutcome.CORRECTED)
            self.metrics.drift_corrected_total.labels(app=t.app, kind=record.kind.value).inc()
            event(
                "corrected",
                app=t.app,
                object=str(t.ref),
                actor=record.actor,
                duration=f"{time.monotonic() - record.detected_monotonic:.3f}s",
            )
            await self._update_inventory(t)
        await events.emit(
            self.kube,
            ref=t.ref,
            api_version=t.api_version,
            uid=t.uid,
            reason="DriftCorrected",
            message=f"re-applied from git after {record.kind.value} by {record.actor}",
            warning=False,
        )
        parked = self._parked.pop(t.ref, None)
        if parked is not None:
            version = str((parked[1].get("metadata") or {}).get("resourceVersion", "0"))
            mine = str(out["metadata"].get("resourceVersion", "0"))
            if version.isdigit() and mine.isdigit() and int(version) > int(mine):
                t.heal_task = None
                await self._judge(*parked)

    def _settle(
        self, state: AppState, record: DriftRecord, outcome: DriftOutcome, message: str = ""
    ) -> None:
        done = record.settled(outcome, at=now(), message=message)
        for i, r in enumerate(state.drifts):
            if r is record:
                state.drifts[i] = done
                break
        if outcome is DriftOutcome.FAILED:
            event(
                "heal-failed", logging.WARNING, app=record.app, object=record.object, error=message
            )

    def fighting(self, app: str) -> str:
        """Whom the app is fighting with, while the other writer keeps coming back."""
        now = time.monotonic()
        for ref, t in self._tracked.items():
            b = self._backoffs.by_object.get(str(ref))
            if t.app == app and b is not None and b.fighting_at(now):
                return (
                    f"fighting with field manager {b.opponent} over {ref}; "
                    f"corrections wait {b.period:.0f}s"
                )
        return ""

    async def _update_inventory(self, t: Tracked) -> None:
        """Keep the inventory's fingerprint current, so prune still recognises the object."""
        try:
            inv = await inventories.load(self.kube, self.apps[t.app].spec.id.key)
        except RecordCorrupt as e:
            # The object is back as git says; the app fails until its record is mended,
            # and every poll retries it.
            state = self.apps[t.app]
            state.sync, state.message = SyncState.UNKNOWN, str(e)
            state.last_sync_result = SyncOutcome.FAILED
            return
        if inv is None:
            return
        entries = tuple(
            replace(e, uid=t.uid, fields=t.fields_hash, values=t.values_hash)
            if e.ref == t.ref
            else e
            for e in inv.entries
        )
        await inventories.save(self.kube, replace(inv, entries=entries))

    # -- metrics ---------------------------------------------------------------

    def publish_app_gauges(self, health: dict[str, str]) -> None:
        """Per-app sync status and health as gauges (1 for the current value), for alerts."""
        for name, state in self.apps.items():
            for sync in SyncState:
                self.metrics.app_sync_status.labels(app=name, status=sync.value).set(
                    float(state.sync is sync)
                )
            current = health.get(name, HealthStatus.UNKNOWN.value)
            for status in HealthStatus:
                self.metrics.app_health_status.labels(app=name, status=status.value).set(
                    float(status.value == current)
                )

    # -- views -------------------------------------------------------------------

    @property
    def tracked(self) -> dict[ObjectRef, Tracked]:
        return self._tracked

    @property
    def down(self) -> dict[str, str]:
        """Watches that failed and wait for their restart: name to the reason."""
        return self._hub.down if self._hub is not None else {}

    def drift_records(self, app: str) -> list[DriftRecord]:
        state = self.apps.get(app)
        return list(state.drifts) if state else []


__all__ = ["AppState", "Controller", "ControllerOptions", "Tracked"]
