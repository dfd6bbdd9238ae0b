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
- :mod:`~gitward.heal.healing`: drift judged, recorded and put back;
- :mod:`~gitward.heal.core`: the parts wired together, per-app actions, views.

With shards (:mod:`gitward.heal.sharding`), the loop serves only the apps of
the shards this replica holds; :meth:`Controller.serve` changes which.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from pathlib import Path

from gitward.config.apps import AppSpec, RepoConfig
from gitward.config.loader import FILENAME, load_repo_config
from gitward.errors import GitwardError
from gitward.heal.affected import is_affected
from gitward.heal.core import ControllerCore
from gitward.heal.logs import event
from gitward.heal.retiring import retire_gone
from gitward.heal.scheduling import Blocker, dependency_blocker, reconcile_in_order
from gitward.heal.shards import Assignment, group_keys
from gitward.heal.state import AppState, ControllerOptions, Tracked
from gitward.plan.namespaces import known_namespaces
from gitward.record.history import SyncOutcome
from gitward.source.revisions import Revision

log = logging.getLogger("gitward.controller")


class Controller(ControllerCore):
    """Reconciles from git and heals drift; :meth:`lead` runs it until cancelled."""

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
                # asyncio.timeout, not wait_for: on Python 3.11, wait_for swallows a
                # cancel that lands as the trigger fires, and the loop never stops.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._trigger.wait()
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
            # down, a chart repo unreachable) are retried on every poll, and
            # apps of shards just gained get their first reconcile here.
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
        fresh = set()
        for spec in self._served(config):
            state = self.apps.get(spec.name)
            if state is None:
                state = self.apps[spec.name] = AppState(spec=spec)
                fresh.add(spec.name)
            state.spec = spec
        if changed is None:
            if not first:
                event("full-reconcile", apps=str(len(config.apps)), revision=rev.sha[:12])
            self._schedule_full()
        batch: list[AppSpec] = []
        for spec in self._served(config):
            read_before = self.apps[spec.name].inputs
            if (
                changed is None
                or spec.name in fresh
                or is_affected(spec, checkout.path, changed, also=read_before)
            ):
                batch.append(spec)
            else:
                self.apps[spec.name].revision = rev.sha
        await self._reconcile_batch(batch, checkout.path, rev)
        if changed is None:
            self._schedule_full()  # counted from the end: a long cold start is not redone at once

    async def _retire_removed(self, config: RepoConfig) -> None:
        """Apps gone from gitward.yaml (or from our shards): stop tracking them, then
        prune what they owned (or orphan it, if they did not prune) and delete their records."""
        names = {spec.name for spec in self._served(config)}
        # First let go of their objects: a prune must not look like drift to heal.
        self._tracker.keep_only(names)
        for name in [n for n in self.apps if n not in names]:
            del self.apps[name]
        keys = {spec.id.key for spec in config.apps}
        if await retire_gone(
            self.kube, source=self.source_id, keys=keys, owns=self.assignment.serves
        ):
            self._retire_pending = False

    def _served(self, config: RepoConfig) -> list[AppSpec]:
        """The apps of ``config`` in the shards this replica serves (all, unsharded)."""
        if self.assignment.count == 1:
            return list(config.apps) if 0 in self.assignment.served else []
        keys = group_keys(config.apps)
        return [spec for spec in config.apps if self.assignment.serves(keys[spec.name])]

    def serve(self, assignment: Assignment) -> None:
        """Serve the apps of ``assignment``'s shards from now on.

        Apps of shards given up are dropped at once (the owner stops the loop
        first, so none is being written); apps of shards gained are reconciled
        at the next refresh, which this triggers."""
        self.assignment = assignment
        keep = {spec.name for spec in self._served(self.config)} if self.config else set()
        self._tracker.keep_only(keep)
        for name in [n for n in self.apps if n not in keep]:
            del self.apps[name]
        self.trigger()

    def _schedule_full(self) -> None:
        interval = self.options.full_reconcile_interval
        self._next_full = time.monotonic() + interval * random.uniform(0.9, 1.1)

    async def _reconcile_all(self, rev: Revision) -> None:
        """Re-render and re-plan every app at ``rev``, affected or not."""
        self._schedule_full()
        assert self.config is not None
        checkout = await asyncio.to_thread(self.source.checkout, rev.sha)
        served = self._served(self.config)
        event("full-reconcile", apps=str(len(served)), revision=rev.sha[:12])
        await self._reconcile_batch(served, checkout.path, rev)
        self._schedule_full()

    async def _retry_failed(self, rev: Revision) -> None:
        again = (SyncOutcome.FAILED, SyncOutcome.SKIPPED)
        failed = [s.spec for s in self.apps.values() if s.last_sync_result in again]
        for spec in self._served(self.config) if self.config else ():
            if spec.name not in self.apps:  # a shard gained: its first reconcile here
                self.apps[spec.name] = AppState(spec=spec)
                failed.append(spec)
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


__all__ = ["AppState", "Controller", "ControllerOptions", "Tracked"]
