"""``gitward/deploy/<app>`` on each merged commit the controller syncs.

``pending`` when a sync of a new revision starts, then ``success`` once every
object the app manages is Healthy (as the watches see them: no extra
request), or ``failure`` with the reason: the sync failed (an invalid plan,
an apply error), an object became Degraded, or health did not come within
the sync timeout. Each is sent once per app, revision and state, across
restarts and leader failovers (:mod:`gitward.review.deploys`). A forge or
API server that fails here is logged and never stops a sync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from gitward.config.apps import AppSpec
from gitward.errors import GitwardError
from gitward.forge import CommitState, Forge
from gitward.heal.logs import event as log_event
from gitward.health import Health, HealthStatus
from gitward.kube import Kube
from gitward.review.deploys import DeployStatus, report


class DeployReporter:
    def __init__(
        self,
        *,
        kube: Kube,
        forge: Forge,
        health_of: Callable[[str], Health | None],
        target_url: Callable[[str], str],
        timeout: float,
        poll_seconds: float = 0.2,
    ) -> None:
        self.kube = kube
        self.poll_seconds = poll_seconds
        self.forge = forge
        self.health_of = health_of
        self.target_url = target_url
        self.timeout = timeout
        self._waits: dict[str, asyncio.Task[None]] = {}

    async def applying(self, spec: AppSpec, revision: str) -> None:
        await self._send(spec, revision, CommitState.PENDING, "applying")

    def applied(self, spec: AppSpec, revision: str, *, failed_because: str = "") -> None:
        """The sync ended: fail now, or wait for health in the background."""
        older = self._waits.pop(spec.name, None)
        if older is not None:
            older.cancel()
        if failed_because:
            work = self._send(spec, revision, CommitState.FAILURE, failed_because)
        else:
            work = self._await_health(spec, revision)
        self._waits[spec.name] = asyncio.create_task(work, name=f"deploy status {spec.name}")

    async def settled(self) -> None:
        """Wait until every status being waited for is sent."""
        await asyncio.gather(*self._waits.values(), return_exceptions=True)

    async def close(self) -> None:
        for task in self._waits.values():
            task.cancel()
        for task in self._waits.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _await_health(self, spec: AppSpec, revision: str) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            health = self.health_of(spec.name)
            status = health.status if health else HealthStatus.HEALTHY
            if status is HealthStatus.HEALTHY:
                await self._send(spec, revision, CommitState.SUCCESS, "Healthy")
                return
            if status is HealthStatus.DEGRADED:
                why = f"Degraded: {health.message}" if health and health.message else "Degraded"
                await self._send(spec, revision, CommitState.FAILURE, why)
                return
            if time.monotonic() > deadline:
                await self._send(
                    spec,
                    revision,
                    CommitState.FAILURE,
                    f"not Healthy within {self.timeout:g}s ({status.value})",
                )
                return
            await asyncio.sleep(self.poll_seconds)

    async def _send(self, spec: AppSpec, revision: str, state: CommitState, why: str) -> None:
        status = DeployStatus(
            app=spec.name,
            key=spec.id.key,
            revision=revision,
            state=state,
            description=why,
            target_url=self.target_url(spec.name),
        )
        try:
            sent = await report(self.kube, self.forge, status)
        except GitwardError as e:
            log_event(
                "deploy-status-failed", logging.WARNING, app=spec.name, revision=revision[:12],
                state=state.value, error=str(e),
            )  # fmt: skip
            return
        if sent:
            log_event(
                "deploy-status", app=spec.name, revision=revision[:12], state=state.value,
                reason=why,
            )  # fmt: skip
