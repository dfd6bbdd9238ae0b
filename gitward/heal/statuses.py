"""The controller as its HTTP API and web UI see it: probes, apps, shards, actions.

What the probes and the API say, by role:

* ``/healthz`` is 503 while one of the long-lived tasks (leader election, the
  reconcile loop, a watch) has died and waits for its restart; the reason names
  it. The supervisor restarts it with backoff; a kubelet restarts a pod whose
  tasks keep dying.
* ``/readyz`` is 200 on the leader once its first reconcile has run and while
  its reconcile loop runs, and on a standby that can read the Lease (so a
  rolling update, which waits for new pods to be ready, can proceed while the
  old leader still leads).
* The app routes of a standby answer 503 ``standby: the leader is <pod>``,
  never a list that would look like "no apps"; so does a webhook it verified,
  which it would otherwise drop.

With shards, a replica answers for the apps of the shards it serves; one
that serves none yet answers the app routes with 503. ``/api/v1/shards`` says,
on every replica, who holds which shard.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gitward import web
from gitward.api.protocols import SourceError
from gitward.api.webhooks import WebhookEvent
from gitward.errors import RecordCorrupt
from gitward.heal.controller import Controller
from gitward.heal.leader import LeaderElector
from gitward.heal.leases import default_identity
from gitward.heal.rollbacks import NO_FORGE, ControllerRollbacks
from gitward.heal.sharding import ShardElector
from gitward.heal.supervise import Supervisor
from gitward.health import Health, aggregate, assess
from gitward.kube import Kube, KubeError
from gitward.objects import Body, ObjectRef
from gitward.promote.errors import PromoteInputError
from gitward.promote.rollback import Rollback
from gitward.record import apprecords
from gitward.source.revisions import Revision
from gitward.views import (
    ControlledApp,
    ObjectHealth,
    controlled_app_detail_view,
    controlled_app_view,
    drift_view,
    history_view,
)

log = logging.getLogger("gitward.controller")

RECONCILE_LOOP = "reconcile loop"


class ControllerStatus:
    """The controller as the HTTP API sees it (:class:`gitward.api.protocols.StatusSource`)."""

    def __init__(
        self,
        controller: Controller,
        *,
        webhook_secret: str,
        leading: asyncio.Event,
        supervisor: Supervisor,
        elector: LeaderElector | ShardElector | None = None,
    ):
        self.controller = controller
        self._secret = webhook_secret
        self._leading = leading
        self._supervisor = supervisor
        self._elector = elector
        self._health: dict[str, str] = {}
        self._health_at = -1  # the controller's live_changes when health was assessed
        # By app and object: the body assessed, and its health.
        self._assessed: dict[str, dict[ObjectRef, tuple[Body | None, Health]]] = {}
        self._requested: set[asyncio.Task[None]] = set()
        # By app: its last summary and that summary's view. A UI or a script that
        # polls the list re-encodes only the apps that changed since.
        self._views: dict[str, tuple[ControlledApp, dict[str, Any]]] = {}

    def liveness(self) -> str:
        down = {**self._supervisor.down, **self.controller.down}
        return "; ".join(down.values())

    def readiness(self) -> str:
        if self._leading.is_set():
            if not self._supervisor.running(RECONCILE_LOOP) or RECONCILE_LOOP in (
                self._supervisor.down
            ):
                return "leader: the reconcile loop is not running"
            if not self.controller.ready.is_set():
                return "leader: the first reconcile has not finished"
            return ""
        if self._elector is None or not self._elector.in_contact():
            return "standby: cannot read the Lease"
        return ""

    def unavailable(self) -> str:
        if isinstance(self._elector, ShardElector) and not self._leading.is_set():
            return "standby: this replica serves no shard yet; ask another (GET /api/v1/shards)"
        if not self._leading.is_set():
            holder = self._elector.holder if isinstance(self._elector, LeaderElector) else ""
            if holder:
                return f"standby: the leader is {holder}; ask it"
            return "standby: no leader elected yet"
        if self.controller.config is None:
            # Before the first gitward.yaml loads, an empty list would read as "no apps".
            reason = self.controller.git_error or "not loaded yet"
            return f"leader: no config from git yet: {reason}"
        return ""

    def app_names(self) -> Collection[str]:
        return list(self.controller.apps)

    def shards(self) -> dict[str, Any]:
        elector = self._elector
        if isinstance(elector, ShardElector):
            return {
                "replica": elector.identity,
                "shards": elector.shards,
                "served": sorted(elector.served),
                "holders": {str(s): h for s, h in sorted(elector.holders.items())},
                "members": list(elector.members),
            }
        leading = self._leading.is_set()
        me = elector.identity if elector is not None else default_identity()
        holder = me if leading else (elector.holder if elector is not None else "")
        return {
            "replica": me,
            "shards": 1,
            "served": [0] if leading else [],
            "holders": {"0": holder} if holder else {},
        }

    def _controlled(self, name: str) -> ControlledApp:
        state = self.controller.apps[name]
        return ControlledApp(
            name=name,
            sync=state.sync,
            health=self._health.get(name, "Unknown"),
            revision=state.revision,
            last_synced_at=state.last_sync_at,
            last_sync_result=state.last_sync_result,
            message=state.message,
            fighting=self.controller.fighting(name),
            auto_sync=state.spec.auto_sync,
            self_heal=state.spec.self_heal,
            refused_commit=self.controller.gate.refused_sha,
            refusal=self.controller.gate.refusal,
            charts=state.charts,
        )

    def app_summary(self, name: str) -> dict[str, Any]:
        """The app's view; the same dict while the app is unchanged, so not for mutation."""
        app = self._controlled(name)
        known = self._views.get(name)
        if known is not None and known[0] == app:
            return known[1]
        view = controlled_app_view(app)
        self._views[name] = (app, view)
        if len(self._views) > 2 * len(self.controller.apps) + 16:
            # Apps removed from git leave; keep only the ones still controlled.
            self._views = {n: v for n, v in self._views.items() if n in self.controller.apps}
        return view

    def app_detail(self, name: str) -> dict[str, Any] | None:
        if name not in self.controller.apps:
            return None
        return controlled_app_detail_view(
            self._controlled(name),
            objects=(
                ObjectHealth(object=str(t.ref), health=assess(t.live))
                for t in self.controller.tracked_of(name)
            ),
            drifts=self.controller.drift_records(name),
            git_error=self.controller.git_error,
        )

    def drift_records(self, name: str) -> Sequence[dict[str, Any]]:
        return [drift_view(d) for d in self.controller.drift_records(name)]

    async def history(self, name: str) -> Sequence[dict[str, Any]]:
        try:
            records = (await apprecords.load(self.controller.kube, name)).history
        except RecordCorrupt as e:
            raise SourceError(str(e), status=500) from e
        except KubeError as e:
            raise SourceError(f"app {name}: history unavailable: {e}", status=503) from e
        return [history_view(r) for r in records]

    def webhook_secret(self) -> str:
        return self._secret

    async def on_webhook(self, event: WebhookEvent) -> None:
        if not self._leading.is_set():
            # Dropping it silently would hide the lost trigger; a 503 shows in the forge.
            raise SourceError(f"webhook {event.forge}: {self.unavailable()}", status=503)
        if event.kind == "pull_request" and event.pull is not None:
            if not self.controller.preview(event.pull):
                log.info(
                    "webhook %s: pull request #%s: no forge configured, no preview",
                    event.forge,
                    event.pull.number,
                )
            return
        self.controller.trigger()

    def refresh_health(self) -> None:
        """Health per app from the bodies the watches delivered: no request at all.

        Assessed again only when a body or the set of tracked objects changed:
        idle, a thousand apps' objects are not walked every two seconds. While
        they change (a cold start changes some all the time), only the objects
        whose body was replaced since are assessed again: assessing all of a
        thousand apps' objects every two seconds held the event loop for a
        large part of each second, drift handling with it."""
        changes = self.controller.live_changes
        if changes != self._health_at:
            # Only the apps changed since the last look: walking every app's objects
            # every two seconds grew with apps x objects through a cold start.
            for app in self.controller.apps_changed_since(self._health_at):
                kept = self._assessed.get(app, {})
                assessed: dict[ObjectRef, tuple[Body | None, Health]] = {}
                for t in self.controller.tracked_of(app):
                    was = kept.get(t.ref)
                    # A watch event replaces the body, never changes it in place.
                    health = was[1] if was is not None and was[0] is t.live else assess(t.live)
                    assessed[t.ref] = (t.live, health)
                if assessed:
                    self._assessed[app] = assessed
                    self._health[app] = aggregate([h for _, h in assessed.values()]).status.value
                else:
                    self._assessed.pop(app, None)
                    self._health.pop(app, None)
            self._health_at = changes
        self.controller.publish_app_gauges(self._health)
        holders = self.shards()["holders"]
        gauge = self.controller.metrics.shard_holder
        gauge.clear()
        for shard, holder in holders.items():
            gauge.labels(shard=shard, replica=holder).set(1)


def public_url(url: str) -> str:
    """``url`` without a user name or password in it."""
    parts = urlsplit(url)
    if not parts.username and not parts.password:
        return url
    host = parts.hostname or ""
    return urlunsplit(parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host))


class ControllerUi(ControllerStatus):
    """The controller as the web UI sees it (:class:`gitward.web.UiSource`).

    It adds to the API's view the tracked objects with their desired and live
    bodies (the diff and the resource tree), the commit the controller read,
    and the two actions. "Sync now" starts a sync in the background; the page
    learns how it went from its live stream, as it learns any other change.
    A rollback opens a pull request (:mod:`gitward.heal.rollbacks`) and
    answers with it.
    """

    rollbacks: ControllerRollbacks | None = None

    @property
    def kube(self) -> Kube:
        return self.controller.kube

    def repo_url(self) -> str:
        return public_url(self.controller.options.repo)

    def repo_revision(self) -> Revision | None:
        return self.controller.revision

    def objects(self, name: str) -> Sequence[web.ObjectState]:
        tracked = self.controller.tracked_of(name)
        return [
            web.ObjectState(
                ref=t.ref,
                api_version=t.api_version,
                desired=t.desired,
                live=t.live,
                ignore=t.ignore,
            )
            for t in sorted(tracked, key=lambda t: str(t.ref))
        ]

    def request_sync(self, name: str) -> str:
        if reason := self.unavailable():
            return reason
        task = asyncio.create_task(self.controller.sync_now(name))
        # The loop keeps only a weak reference to a task: hold it until it is done.
        self._requested.add(task)
        task.add_done_callback(self._requested.discard)
        log.info("ui: sync of app %s requested", name)
        return ""

    def request_refresh(self) -> str:
        if reason := self.unavailable():
            return reason
        self.controller.trigger()
        log.info("ui: refresh from git requested")
        return ""

    def rollback_refusal(self) -> str:
        if reason := self.unavailable():
            return reason
        return self.rollbacks.refusal() if self.rollbacks is not None else NO_FORGE

    async def rollback(self, name: str, to: str) -> Rollback:
        state = self.controller.apps.get(name)
        if reason := self.rollback_refusal():
            raise PromoteInputError(f"app {name}: {reason}")
        if state is None or self.rollbacks is None:
            raise PromoteInputError(f"app {name}: not in gitward.yaml any more")
        return await self.rollbacks.open(state.spec, to=to)


__all__ = ["RECONCILE_LOOP", "ControllerStatus", "ControllerUi", "public_url"]
