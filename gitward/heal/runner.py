"""``gitward controller``: the controller, its HTTP API, leader election and shutdown.

Only the leader reconciles; a standby keeps its API up (answering ``/readyz``
and ``/healthz``) and takes over when the lease expires. All state is in git
and in the cluster, so a new leader starts with a full reconcile and resumes
where the old one stopped.

SIGTERM finishes or abandons the in-flight work within a grace period, then
hands the lease over at once rather than letting a standby wait it out.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from gitward.api.metrics import Registry, controller_metrics
from gitward.api.server import serve
from gitward.api.webhooks import WebhookEvent
from gitward.heal.controller import Controller, ControllerOptions
from gitward.heal.leader import LeaderElector, LeaseConfig
from gitward.health import Health, aggregate, assess
from gitward.kube import Kube
from gitward.record import history as histories
from gitward.source import GitSource
from gitward.source.workspace import credentials_from_env


@dataclass(frozen=True)
class RunOptions:
    controller: ControllerOptions
    host: str = "127.0.0.1"
    port: int = 8080
    leader_election: bool = True
    lease: LeaseConfig | None = None
    webhook_secret: str = ""
    grace_seconds: float = 20.0


class ControllerStatus:
    """The controller as the HTTP API sees it (:class:`gitward.api.protocols.StatusSource`)."""

    def __init__(self, controller: Controller, *, webhook_secret: str, leading: asyncio.Event):
        self.controller = controller
        self._secret = webhook_secret
        self._leading = leading
        self._health: dict[str, str] = {}

    def ready(self) -> bool:
        return not self._leading.is_set() or self.controller.ready.is_set()

    def app_names(self) -> Collection[str]:
        return list(self.controller.apps)

    def app_summary(self, name: str) -> dict[str, Any]:
        state = self.controller.apps[name]
        return {
            "name": name,
            "sync": state.sync.value,
            "health": self._health.get(name, "Unknown"),
            "revision": state.revision,
            "lastSyncAt": state.last_sync_at,
            "lastSyncResult": state.last_sync_result,
            "message": state.message,
            "fighting": state.fighting,
            "autoSync": state.spec.auto_sync,
            "selfHeal": state.spec.self_heal,
        }

    def app_detail(self, name: str) -> dict[str, Any] | None:
        if name not in self.controller.apps:
            return None
        detail = self.app_summary(name)
        detail["drifts"] = self.controller.drift_records(name)
        detail["objects"] = sorted(
            str(ref) for ref, t in self.controller.tracked.items() if t.app == name
        )
        detail["gitError"] = self.controller.git_error
        return detail

    def drift_records(self, name: str) -> Sequence[dict[str, Any]]:
        return self.controller.drift_records(name)

    async def history(self, name: str) -> Sequence[dict[str, Any]]:
        return [r.to_doc() for r in await histories.load(self.controller.kube, name)]

    def webhook_secret(self) -> str:
        return self._secret

    async def on_webhook(self, event: WebhookEvent) -> None:
        self.controller.trigger()

    def refresh_health(self) -> None:
        """Health per app from the bodies the watches delivered: no request at all."""
        per_app: dict[str, list[Health]] = {}
        for t in self.controller.tracked.values():
            per_app.setdefault(t.app, []).append(assess(t.live))
        self._health = {app: aggregate(hs).status.value for app, hs in per_app.items()}


async def run(options: RunOptions, *, kube: Kube) -> None:
    """Serve until SIGTERM/SIGINT."""
    registry = Registry()
    metrics = controller_metrics(registry)
    source = GitSource(url=options.controller.repo, credentials=credentials_from_env())
    controller = Controller(kube=kube, source=source, options=options.controller, metrics=metrics)
    leading = asyncio.Event()
    status = ControllerStatus(controller, webhook_secret=options.webhook_secret, leading=leading)
    server = await serve(host=options.host, port=options.port, source=status, registry=registry)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    work: asyncio.Task[None] | None = None

    async def started_leading() -> None:
        nonlocal work
        leading.set()
        metrics.leader.set(1)
        work = asyncio.create_task(controller.lead())

    async def stopped_leading() -> None:
        nonlocal work
        leading.clear()
        metrics.leader.set(0)
        if work is not None:
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await work
            work = None

    async def health_timer() -> None:
        while True:
            status.refresh_health()
            await asyncio.sleep(2.0)

    elector: LeaderElector | None = None
    tasks = [asyncio.create_task(health_timer())]
    if options.leader_election:
        elector = LeaderElector(kube=kube, config=options.lease or LeaseConfig())
        tasks.append(
            asyncio.create_task(
                elector.run(on_started_leading=started_leading, on_stopped_leading=stopped_leading)
            )
        )
    else:
        await started_leading()

    await stop.wait()
    # Let an in-flight sync or heal finish within the grace period, then hand over.
    for state in controller.apps.values():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.lock.acquire(), timeout=options.grace_seconds)
    await stopped_leading()
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    if elector is not None:
        with contextlib.suppress(Exception):
            await elector.release()
    await server.close()
