"""``gitward controller``: the controller, its HTTP API, leader election and shutdown.

Only the leader reconciles; a standby keeps its API up and takes over when the
lease expires. All state is in git and in the cluster, so a new leader starts
with a full reconcile and resumes where the old one stopped.

With ``shards > 1`` every replica works at once, each on the apps of the
shards whose Leases it holds (:mod:`gitward.heal.sharding`); leader election
is the case of one shard. A replica that gives a shard up stops its reconcile
loop (cancelling whatever it was writing) before the Lease is handed back, and
starts it again on the shards it keeps.

What the probes and the API say is in :mod:`gitward.heal.statuses`.

SIGTERM finishes or abandons the in-flight work within a grace period, then
hands the lease over at once rather than letting a standby wait it out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass

from starlette.routing import BaseRoute

from gitward import web
from gitward.api.auth import is_loopback
from gitward.api.metrics import Registry, controller_metrics
from gitward.api.server import serve
from gitward.heal.controller import Controller, ControllerOptions
from gitward.heal.leader import LeaderElector
from gitward.heal.leases import LeaseConfig
from gitward.heal.rollbacks import ControllerRollbacks, RollbackSettings
from gitward.heal.sharding import ShardElector
from gitward.heal.shards import Assignment
from gitward.heal.statuses import RECONCILE_LOOP, ControllerUi
from gitward.heal.supervise import Supervisor
from gitward.kube import Kube
from gitward.record.store import record_namespace
from gitward.source import GitSource
from gitward.source.opening import credentials_from_env
from gitward.tools import cache_root

log = logging.getLogger("gitward.controller")


@dataclass(frozen=True)
class RunOptions:
    controller: ControllerOptions
    host: str = "127.0.0.1"
    port: int = 8080
    leader_election: bool = True
    lease: LeaseConfig | None = None
    #: How many shards the apps are spread over; above 1, every replica serves some.
    shards: int = 1
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


async def run(options: RunOptions, *, kube: Kube) -> None:
    """Serve until SIGTERM/SIGINT."""
    registry = Registry()
    metrics = controller_metrics(registry)
    source = GitSource(url=options.controller.repo, credentials=credentials_from_env())
    controller = Controller(kube=kube, source=source, options=options.controller, metrics=metrics)
    leading = asyncio.Event()
    supervisor = Supervisor(log=log)
    elector: LeaderElector | ShardElector | None = None
    # Leases are renewed on connections of their own: queued behind a big sync's
    # requests, a renewal could miss its term and stop the very sync it guards.
    lease_kube = kube.separate()
    if options.shards > 1:
        elector = ShardElector(
            kube=lease_kube, config=options.lease or LeaseConfig(), shards=options.shards
        )
        controller.serve(Assignment(count=options.shards, served=frozenset()))
    elif options.leader_election:
        elector = LeaderElector(kube=lease_kube, config=options.lease or LeaseConfig())
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

    async def serving(shards: frozenset[int]) -> None:
        if controller.assignment.served - shards:
            # Stop writing before the Lease is handed back or counts as expired.
            await supervisor.stop(RECONCILE_LOOP)
        controller.serve(Assignment(count=options.shards, served=shards))
        if not shards:
            await stopped_leading()
            return
        leading.set()
        metrics.leader.set(1)
        supervisor.start(RECONCILE_LOOP, controller.lead)

    supervisor.start("health refresh", health_timer)
    if isinstance(elector, ShardElector):
        shard_elector = elector
        supervisor.start("shard election", lambda: shard_elector.run(on_serving=serving))
    elif elector is not None:
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
    await lease_kube.aclose()
    await server.close()
