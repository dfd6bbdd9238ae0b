"""Many apps reconciled at once, at most ``limit`` at a time, in ``dependsOn`` order.

Apps that do not need each other are independent, so a cold start of a
thousand apps need not wait for each in turn: the API server serves many
requests at once, and the controller spends most of a sync waiting on it.
An app that depends on another app of the same round starts only once that
one is Synced and Healthy; if it ended otherwise (or stays unhealthy past
the settle time) the dependent is skipped and says why, as ``gitward sync``
does. Waiting for a dependency holds no slot, so a slow dependency never
starves independent apps. Apps sharing a namespace take turns.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from gitward.config.apps import AppSpec
from gitward.heal.state import AppState
from gitward.health import Health, HealthStatus
from gitward.status import SyncState


@dataclass(frozen=True)
class Blocker:
    """Why a dependency is not Synced and Healthy; ``final``: waiting will not change it."""

    reason: str = ""
    final: bool = False


async def reconcile_in_order(
    specs: Sequence[AppSpec],
    reconcile: Callable[[AppSpec], Awaitable[None]],
    *,
    limit: int,
    blocker: Callable[[str], Blocker],
    skip: Callable[[AppSpec, str], None],
    settle_timeout: float,
    poll: float = 0.25,
    exclusive: Callable[[AppSpec], str] = lambda spec: spec.namespace,
) -> None:
    """Run ``reconcile`` for every spec; ``blocker(dep)`` says whether ``dep`` lets others start.

    Apps with the same ``exclusive`` key (their namespace) run one after another,
    in the order given: two apps rendering the same object must meet as they
    did in turn (the first owns it, the second is refused), never both plan it
    as new at once.

    An exception other than cancellation is raised once every app has had its
    turn, so one app's surprise does not abandon the others half way.
    """
    done = {s.name: asyncio.Event() for s in specs}
    slots = asyncio.Semaphore(max(1, limit))
    # asyncio.Lock wakes its waiters first come, first served: the given order holds.
    turns = {exclusive(s): asyncio.Lock() for s in specs}

    async def settled(dep: str) -> str:
        await done[dep].wait()
        deadline = time.monotonic() + settle_timeout
        while True:
            b = blocker(dep)
            if not b.reason:
                return ""
            if b.final or time.monotonic() >= deadline:
                return b.reason
            await asyncio.sleep(poll)

    async def one(spec: AppSpec) -> None:
        try:
            for dep in spec.depends_on:
                if dep not in done:
                    continue  # not in this round: it was reconciled in an earlier one
                reason = await settled(dep)
                if reason:
                    skip(spec, f"app {spec.name}: not synced: it depends on {dep}, which {reason}")
                    return
            async with turns[exclusive(spec)], slots:
                await reconcile(spec)
        finally:
            done[spec.name].set()

    results = await asyncio.gather(*(one(s) for s in specs), return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            raise r


def dependency_blocker(state: AppState | None, health: Health | None) -> Blocker:
    """Why an app (its ``state`` and ``health``) does not let its dependents start yet."""
    if state is None:
        return Blocker("is not in gitward.yaml", final=True)
    if state.sync is not SyncState.SYNCED:
        return Blocker(f"is {state.sync.value}: {state.message}".rstrip(": "), final=True)
    if health is not None and health.status is not HealthStatus.HEALTHY:
        return Blocker(f"is {health.status.value}")
    return Blocker()


__all__ = ["Blocker", "dependency_blocker", "reconcile_in_order"]
