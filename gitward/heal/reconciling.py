"""One app at one revision: render it, then sync it (``autoSync``) or only plan it.

The outcome lands in the app's state (sync status, message, last result), in
the controller's metrics and in log lines; a failure of any kind is kept there
too and never raised, so one broken app cannot stop the loop. What the app
manages afterwards is handed to the tracker while the app is still locked, so
no watch event is judged against the fingerprints of before the sync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from pathlib import Path

from gitward.api.metrics import ControllerMetrics
from gitward.config.apps import AppSpec
from gitward.errors import GitwardError, RecordCorrupt, RenderError
from gitward.heal.logs import event
from gitward.heal.namespaces import NamespaceWatch
from gitward.heal.state import AppState, ControllerOptions, now
from gitward.heal.tracking import Tracker
from gitward.kube import Kube
from gitward.notify.notices import Notices
from gitward.plan.model import Plan
from gitward.reconcile import (
    PlanInvalid,
    RecordsOwnedElsewhere,
    SyncOptions,
    plan_app,
    record_unrendered,
    sync_app,
)
from gitward.reconcile.keys import decryptor_for
from gitward.record.history import SyncOutcome
from gitward.record.snapshot import RecordSnapshot
from gitward.render import RenderCache, render_app
from gitward.source.revisions import Revision
from gitward.status import SyncState
from gitward.tenancy import client_for


def _is_ownership_conflict(e: GitwardError | Plan) -> bool:
    if isinstance(e, Plan):
        return any(x.ownership for x in e.errors)
    return isinstance(e, RecordsOwnedElsewhere)


class Reconciler:
    """Reconciles one app at a time; :meth:`reconcile` never raises for the app's failures."""

    def __init__(
        self,
        *,
        kube: Kube,
        options: ControllerOptions,
        metrics: ControllerMetrics,
        tracker: Tracker,
        notices: Notices | None = None,
        namespaces: NamespaceWatch | None = None,
    ) -> None:
        self.kube = kube
        self.namespaces = namespaces
        self.options = options
        self.metrics = metrics
        self.tracker = tracker
        self.notices = notices or Notices(None, repo=options.repo)
        self._render_cache = RenderCache()

    async def reconcile(
        self,
        spec: AppSpec,
        state: AppState,
        root: Path,
        rev: Revision,
        *,
        force: bool = False,
        known_namespaces: Mapping[str, bool] | None = None,
        records: RecordSnapshot | None = None,
    ) -> None:
        """Sync (autoSync, or ``force``: someone asked) or just plan ``spec``; a failure
        is kept in its ``state``. ``known_namespaces`` and ``records``: listed once
        for many apps."""
        started = time.monotonic()
        async with state.lock:
            state.busy = True
            self.tracker.syncing[spec.id.tracking_id] = spec.name
            try:
                # Read for each reconcile: a rotated key Secret counts at once.
                decryptor = await decryptor_for(self.kube, self.options.decryption)
                rendered = await asyncio.to_thread(
                    render_app,
                    app=spec,
                    root=root,
                    cache=self._render_cache,
                    decryptor=decryptor,
                )
                state.inputs = rendered.inputs
                options = SyncOptions(
                    timeout=self.options.sync_timeout,
                    concurrency=self.options.concurrency,
                    policy=self.options.tenancy.policy,
                )
                # The app's own reads and writes go through its client; watches,
                # records and Events stay on gitward's own identity.
                as_app = client_for(kube=self.kube, app=spec, tenancy=self.options.tenancy)
                # Without selfHeal, drift is only reported: an app is synced for a
                # new revision, never just because a periodic reconcile came round.
                if force or (spec.auto_sync and (spec.self_heal or state.revision != rev.sha)):
                    result = await sync_app(
                        kube=self.kube,
                        app=spec,
                        manifests=rendered.manifests,
                        revision=rev,
                        charts=tuple(c.label for c in rendered.charts),
                        options=options,
                        as_app=as_app,
                        known_namespaces=known_namespaces,
                        records=records,
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
                    if not failed and self.namespaces is not None:
                        self.namespaces.created(plan)
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
                        state.charts = tuple(c.label for c in rendered.charts)
                        self.metrics.app_last_successful_sync_timestamp_seconds.labels(
                            app=spec.name
                        ).set(time.time())
                    self.notices.sync_ended(
                        spec,
                        rev.sha,
                        failed_because=(result.reason or "the sync failed") if failed else "",
                        charts=rendered.charts,
                    )
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
                        known_namespaces=known_namespaces,
                        records=records,
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
                    await self.tracker.track(spec, plan, inv)
            except GitwardError as e:
                if isinstance(e, RenderError) and spec.auto_sync:
                    with contextlib.suppress(GitwardError):
                        # The render error is the news; a failure to record it is not.
                        await record_unrendered(
                            kube=self.kube, app=spec, revision=rev, error=e, records=records
                        )
                # A record that does not decode says nothing about the cluster: Unknown.
                corrupt = isinstance(e, RecordCorrupt)
                state.sync = SyncState.UNKNOWN if corrupt else SyncState.OUT_OF_SYNC
                state.message, state.last_sync_result = str(e), SyncOutcome.FAILED
                event("error", logging.WARNING, app=spec.name, revision=rev.sha[:12], error=str(e))
                self.metrics.sync_total.labels(app=spec.name, outcome="failed").inc()
                if _is_ownership_conflict(e):
                    self.metrics.ownership_conflicts_total.labels(app=spec.name).inc()
                if force or spec.auto_sync:
                    self.notices.sync_ended(spec, rev.sha, failed_because=str(e))
            finally:
                state.busy = False
                self.tracker.syncing.pop(spec.id.tracking_id, None)
                self.metrics.reconcile_duration_seconds.labels(app=spec.name).observe(
                    time.monotonic() - started
                )


__all__ = ["Reconciler"]
