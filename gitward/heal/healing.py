"""Drift, from a watch event to a record, and with ``selfHeal`` to the object put back.

Each watch event about a tracked object is judged against its fingerprints
(:mod:`gitward.heal.drift`). Drift is recorded in the app's state, announced
as a log line, a metric and a Kubernetes Event, and, if the app heals itself,
corrected by re-applying just that object from git, after the backoff that
keeps gitward from fighting another writer in a tight loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

from gitward.api.metrics import ControllerMetrics
from gitward.apply.correcting import correct_object
from gitward.config.tenancy import Tenancy
from gitward.errors import GitwardError, RecordCorrupt
from gitward.heal import backoff, events
from gitward.heal.drift import fingerprint, judge
from gitward.heal.keeping import kept_live
from gitward.heal.logs import event
from gitward.heal.state import AppState, Tracked, now
from gitward.heal.tracking import Tracker
from gitward.kube import Kube
from gitward.notify.notices import Notices
from gitward.objects import Body, ObjectRef
from gitward.plan.inventory import fields_hash, values_hash
from gitward.plan.ownership import tracking_id
from gitward.record import apprecords
from gitward.record.drifts import DriftKind, DriftOutcome, DriftRecord
from gitward.record.history import SyncOutcome
from gitward.status import SyncState
from gitward.tenancy import client_for

log = logging.getLogger("gitward.controller")


class Healer:
    """Judges the events of tracked objects; records drift and puts objects back."""

    def __init__(
        self,
        *,
        kube: Kube,
        tenancy: Tenancy,
        metrics: ControllerMetrics,
        apps: dict[str, AppState],
        tracker: Tracker,
        notices: Notices | None = None,
    ) -> None:
        self.kube = kube
        self.tenancy = tenancy
        self.metrics = metrics
        self.apps = apps
        self.tracker = tracker
        self.notices = notices or Notices(None, repo="")
        self.backoffs = backoff.Backoffs()
        # By app, backoff key to the object it is for.
        self._drifted: dict[str, dict[str, ObjectRef]] = {}
        self.applies = 0  # heals sent to the API server

    async def on_event(self, kind: str, body: Body) -> None:
        """A watch event: judged now, or parked while its app or object is being written."""
        ref = ObjectRef.of(body)
        t = self.tracker.objects.get(ref)
        if t is None:
            if tracking_id(body) in self.tracker.syncing:
                # Written by a sync in flight: tracked (with this body) when it ends.
                self.tracker.parked[ref] = (kind, body)
            return
        t.live = None if kind == "DELETED" else kept_live(body)
        self.tracker.touch(t.app)
        state = self.apps.get(t.app)
        if state is not None and (state.busy or (t.heal_task and not t.heal_task.done())):
            self.tracker.parked[ref] = (kind, body)
            return
        await self.judge(kind, body)

    async def judge(self, kind: str, body: Body) -> None:
        t = self.tracker.objects.get(ObjectRef.of(body))
        if t is None:
            return
        verdict = judge(t, kind, body)
        if verdict is not None:
            await self._drift(t, body, verdict.kind, verdict.fields, verdict.actor)

    async def release(self, app: str) -> None:
        """Judge the events parked while ``app`` was busy, now that its fingerprints are new."""
        for ref in self.tracker.parked_refs(app):
            parked = self.tracker.parked.pop(ref, None)
            if parked is not None:
                await self.judge(*parked)

    def fighting(self, app: str) -> str:
        """Whom the app is fighting with, while the other writer keeps coming back."""
        now = time.monotonic()
        # Only objects of this app that drifted have a backoff: look there, not at
        # every object, nor every drift, of every app (the API asks this for each
        # app it lists).
        for key, ref in self._drifted.get(app, {}).items():
            b = self.backoffs.by_object.get(key)
            t = self.tracker.objects.get(ref)
            if b is not None and t is not None and t.app == app and b.fighting_at(now):
                return (
                    f"fighting with field manager {b.opponent} over {ref}; "
                    f"corrections wait {b.period:.0f}s"
                )
        return ""

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
        # In the app's state first: the API and an open page show it without
        # waiting for the Event's round trip to the API server.
        state.drifts.appendleft(record)
        if not state.spec.self_heal:
            state.sync = SyncState.OUT_OF_SYNC
        what = f"{kind.value} by {actor}: {', '.join(fields)}"
        rounds = self.backoffs.of(str(t.ref)) if state.spec.self_heal else None
        delay = 0.0
        if rounds is not None:
            # The correction starts before the Event is sent: under load, each
            # request waits its turn at the API server, and the Event can wait.
            self._drifted.setdefault(t.app, {})[str(t.ref)] = t.ref
            delay = rounds.delay(time.monotonic(), actor=actor)
            t.heal_task = asyncio.create_task(self._heal(t, record, delay))
        await self._announce(t, "DriftDetected", what, warning=True)
        version = str(body["metadata"].get("resourceVersion", ""))
        self.notices.drift_detected(
            state.spec, state.revision, obj=str(t.ref), version=version, message=what
        )
        if rounds is not None and rounds.fighting:
            self.notices.fighting(
                state.spec, state.revision, obj=str(t.ref), opponent=actor, wait=delay
            )

    async def _announce(self, t: Tracked, reason: str, message: str, *, warning: bool) -> None:
        """A Kubernetes Event on the object, as gitward's own identity."""
        await events.emit(
            self.kube,
            ref=t.ref,
            api_version=t.api_version,
            uid=t.uid,
            reason=reason,
            message=message,
            warning=warning,
        )

    async def _heal(self, t: Tracked, record: DriftRecord, delay: float) -> None:
        """Put one drifted object back; a failure of any kind settles the record as failed."""
        try:
            await self._heal_once(t, record, delay)
        except Exception as e:
            # Nobody awaits this task: say why here, or the drift would stay pending forever.
            log.exception("%s: heal failed", t.ref)
            _settle(
                self.apps[t.app], record, DriftOutcome.FAILED, message=f"{t.ref}: heal failed: {e}"
            )

    async def _heal_once(self, t: Tracked, record: DriftRecord, delay: float) -> None:
        state = self.apps[t.app]
        if delay:
            await asyncio.sleep(delay)
        async with state.lock:
            try:
                kube = client_for(kube=self.kube, app=state.spec, tenancy=self.tenancy)
            except GitwardError as e:
                _settle(state, record, DriftOutcome.FAILED, message=str(e))
                return
            self.applies += 1
            correction = await correct_object(
                kube=kube,
                ref=t.ref,
                api_version=t.api_version,
                desired=t.desired,
                ignore=t.ignore,
                field_manager=t.manager,
            )
            out = correction.body
            if out is None:
                _settle(state, record, DriftOutcome.FAILED, message=correction.change.message)
                return
            fingerprint(t, out)
            self.backoffs.of(str(t.ref)).last_correction = time.monotonic()
            _settle(state, record, DriftOutcome.CORRECTED)
            self.metrics.drift_corrected_total.labels(app=t.app, kind=record.kind.value).inc()
            event(
                "corrected",
                app=t.app,
                object=str(t.ref),
                actor=record.actor,
                duration=f"{time.monotonic() - record.detected_monotonic:.3f}s",
            )
            await self._update_inventory(t)
        self.notices.drift_corrected(
            state.spec,
            state.revision,
            obj=str(t.ref),
            version=str(out["metadata"].get("resourceVersion", "")),
            message=f"re-applied from git after {record.kind.value} by {record.actor}",
        )
        await self._announce(
            t,
            "DriftCorrected",
            f"re-applied from git after {record.kind.value} by {record.actor}",
            warning=False,
        )
        parked = self.tracker.parked.pop(t.ref, None)
        if parked is not None:
            version = str((parked[1].get("metadata") or {}).get("resourceVersion", "0"))
            mine = str(out["metadata"].get("resourceVersion", "0"))
            if version.isdigit() and mine.isdigit() and int(version) > int(mine):
                t.heal_task = None
                await self.judge(*parked)

    async def _update_inventory(self, t: Tracked) -> None:
        """Keep the inventory's fingerprint current, so prune still recognises the object."""
        state = self.apps[t.app]
        try:
            stored = await apprecords.load(self.kube, state.spec.id.key)
        except RecordCorrupt as e:
            # The object is back as git says; the app fails until its record is mended,
            # and every poll retries it.
            state.sync, state.message = SyncState.UNKNOWN, str(e)
            state.last_sync_result = SyncOutcome.FAILED
            return
        inv = stored.inventory
        if inv is None:
            return
        entries = tuple(
            replace(e, uid=t.uid, fields=t.fields_hash, values=t.values_hash)
            if e.ref == t.ref
            else e
            for e in inv.entries
        )
        records = replace(stored, inventory=replace(inv, entries=entries))
        await apprecords.save(self.kube, records, stored=stored)


def _settle(state: AppState, record: DriftRecord, outcome: DriftOutcome, message: str = "") -> None:
    """Replace the pending ``record`` in the app's drifts with its outcome."""
    done = record.settled(outcome, at=now(), message=message)
    for i, r in enumerate(state.drifts):
        if r is record:
            state.drifts[i] = done
            break
    if outcome is DriftOutcome.FAILED:
        event("heal-failed", logging.WARNING, app=record.app, object=record.object, error=message)


__all__ = ["Healer"]
