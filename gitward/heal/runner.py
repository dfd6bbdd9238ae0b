"""``gitward controller``: the controller, its HTTP API, leader election and shutdown.

Only the leader reconciles; a standby keeps its API up and takes over when the
lease expires. All state is in git and in the cluster, so a new leader starts
with a full reconcile and resumes where the old one stopped.

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

SIGTERM finishes or abandons the in-flight work within a grace period, then
hands the lease over at once rather than letting a standby wait it out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from starlette.routing import BaseRoute

from gitward import web
from gitward.api.auth import is_loopback
from gitward.api.metrics import Registry, controller_metrics
from gitward.api.protocols import SourceError
from gitward.api.server import serve
from gitward.api.webhooks import WebhookEvent
from gitward.errors import RecordCorrupt
from gitward.heal.controller import Controller, ControllerOptions
from gitward.heal.leader import LeaderElector
from gitward.heal.leases import LeaseConfig
from gitward.heal.rollbacks import NO_FORGE, ControllerRollbacks, RollbackSettings
from gitward.heal.supervise import Supervisor
from gitward.health import Health, aggregate, assess
from gitward.kube import Kube, KubeError
from gitward.objects import Body, ObjectRef
from gitward.promote.errors import PromoteInputError
from gitward.promote.rollback import Rollback
from gitward.record import history as histories
from gitward.record.store import record_namespace
from gitward.source import GitSource
from gitward.source.opening import credentials_from_env
from gitward.source.revisions import Revision
from gitward.tools import cache_root
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


@dataclass(frozen=True)
class RunOptions:
    controller: ControllerOptions
    host: str = "127.0.0.1"
    port: int = 8080
    leader_election: bool = True
    lease: LeaseConfig | None = None
    webhook_secret: str = ""
    #: Bearer token the API requires (all routes but probes and webhooks); empty: none.
    api_token: str = ""
    grace_seconds: float = 20.0
    #: Serve the web UI at /ui/ beside the API.
    ui: bool = True
    #: Mark the UI's session cookie Secure on plain HTTP too (TLS ends at a proxy).
    ui_secure_cookie: bool = False
    #: The Secret in gitward's namespace holding the UI's users; empty: token logins only.
    ui_users_secret: str = ""
    #: How the UI's rollback button opens pull requests; ``None``: it is disabled.
    rollbacks: RollbackSettings | None = None


class ControllerStatus:
    """The controller as the HTTP API sees it (:class:`gitward.api.protocols.StatusSource`)."""

    def __init__(
        self,
        controller: Controller,
        *,
        webhook_secret: str,
        leading: asyncio.Event,
        supervisor: Supervisor,
        elector: LeaderElector | None = None,
    ):
        self.controller = controller
        self._secret = webhook_secret
        self._leading = leading
        self._supervisor = supervisor
        self._elector = elector
        self._health: dict[str, str] = {}
        self._health_at = -1  # the controller's live_changes when health was assessed
        self._assessed: dict[ObjectRef, tuple[Body | None, Health]] = {}  # by the body assessed
        self._requested: set[asyncio.Task[None]] = set()

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
        if not self._leading.is_set():
            holder = self._elector.holder if self._elector is not None else ""
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
        return controlled_app_view(self._controlled(name))

    def app_detail(self, name: str) -> dict[str, Any] | None:
        if name not in self.controller.apps:
            return None
        return controlled_app_detail_view(
            self._controlled(name),
            objects=(
                ObjectHealth(object=str(ref), health=assess(t.live))
                for ref, t in self.controller.tracked.items()
                if t.app == name
            ),
            drifts=self.controller.drift_records(name),
            git_error=self.controller.git_error,
        )

    def drift_records(self, name: str) -> Sequence[dict[str, Any]]:
        return [drift_view(d) for d in self.controller.drift_records(name)]

    async def history(self, name: str) -> Sequence[dict[str, Any]]:
        try:
            records = await histories.load(self.controller.kube, name)
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
            self._health_at = changes
            per_app: dict[str, list[Health]] = {}
            assessed: dict[ObjectRef, tuple[Body | None, Health]] = {}
            for ref, t in self.controller.tracked.items():
                kept = self._assessed.get(ref)
                # A watch event replaces the body, never changes it in place.
                health = kept[1] if kept is not None and kept[0] is t.live else assess(t.live)
                assessed[ref] = (t.live, health)
                per_app.setdefault(t.app, []).append(health)
            self._assessed = assessed
            self._health = {app: aggregate(hs).status.value for app, hs in per_app.items()}
        self.controller.publish_app_gauges(self._health)


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
        tracked = [t for t in self.controller.tracked.values() if t.app == name]
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


async def run(options: RunOptions, *, kube: Kube) -> None:
    """Serve until SIGTERM/SIGINT."""
    registry = Registry()
    metrics = controller_metrics(registry)
    source = GitSource(url=options.controller.repo, credentials=credentials_from_env())
    controller = Controller(kube=kube, source=source, options=options.controller, metrics=metrics)
    leading = asyncio.Event()
    supervisor = Supervisor(log=log)
    elector: LeaderElector | None = None
    if options.leader_election:
        elector = LeaderElector(kube=kube, config=options.lease or LeaseConfig())
    status = ControllerUi(
        controller,
        webhook_secret=options.webhook_secret,
        leading=leading,
        supervisor=supervisor,
        elector=elector,
    )
    if options.rollbacks is not None:
        status.rollbacks = ControllerRollbacks(
            kube=kube, settings=options.rollbacks, workdir=cache_root() / "rollbacks"
        )
    ui_routes: list[BaseRoute] = []
    if options.ui:
        ui_routes = web.ui_routes(
            status,
            web.UiOptions(
                token=options.api_token,
                open_reads=is_loopback(options.host),
                secure_cookie=options.ui_secure_cookie,
                users=web.UsersSecret(namespace=record_namespace(), name=options.ui_users_secret)
                if options.ui_users_secret
                else None,
            ),
        )
    server = await serve(
        host=options.host,
        port=options.port,
        source=status,
        registry=registry,
        token=options.api_token,
        routes=ui_routes,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def started_leading() -> None:
        leading.set()
        metrics.leader.set(1)
        supervisor.start(RECONCILE_LOOP, controller.lead)

    async def stopped_leading() -> None:
        leading.clear()
        metrics.leader.set(0)
        await supervisor.stop(RECONCILE_LOOP)

    async def health_timer() -> None:
        while True:
            status.refresh_health()
            await asyncio.sleep(2.0)

    supervisor.start("health refresh", health_timer)
    if elector is not None:
        supervisor.start(
            "leader election",
            lambda: elector.run(
                on_started_leading=started_leading, on_stopped_leading=stopped_leading
            ),
        )
    else:
        await started_leading()

    await stop.wait()
    # Let an in-flight sync or heal finish within the grace period, then hand over.
    for state in controller.apps.values():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.lock.acquire(), timeout=options.grace_seconds)
    await stopped_leading()
    await controller.close()
    await supervisor.close()
    if elector is not None:
        with contextlib.suppress(Exception):
            await elector.release()
    await server.close()
