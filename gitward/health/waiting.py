"""Waiting for an app's objects to be Healthy, read live: ``sync --wait``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from gitward.errors import ExitCode, GitwardError
from gitward.health import Health, HealthStatus, aggregate, assess
from gitward.kube import Forbidden, Kube
from gitward.objects import ObjectRef


class HealthTimeout(GitwardError):
    """``--wait`` ended without every object Healthy: one Degraded, or time ran out."""

    exit_code = ExitCode.HEALTH

    def __init__(self, message: str, health: Health, *, timed_out: bool = False):
        super().__init__(message)
        self.health = health
        self.timed_out = timed_out


async def live_health(*, kube: Kube, refs: list[tuple[ObjectRef, str]]) -> dict[ObjectRef, Health]:
    """Health of each (ref, apiVersion), read live."""

    async def one(ref: ObjectRef, api_version: str) -> Health:
        res = await kube.resource_for(api_version, ref.kind)
        try:
            body = (
                None if res is None else await kube.get(res, name=ref.name, namespace=ref.namespace)
            )
        except Forbidden as e:
            # The app's account may not read it: say so rather than guess.
            return Health.unknown(str(e).split(": ", 1)[-1])
        if body is not None:
            body.setdefault("apiVersion", api_version)
            body.setdefault("kind", ref.kind)
        return assess(body)

    healths = await asyncio.gather(*(one(r, v) for r, v in refs))
    return dict(zip((r for r, _ in refs), healths, strict=True))


async def wait_healthy(
    *,
    kube: Kube,
    refs: list[tuple[ObjectRef, str]],
    timeout: float,
    on_progress: Callable[[tuple[tuple[ObjectRef, Health], ...]], None] | None = None,
) -> Health:
    """Poll until every applied object is Healthy; fail fast on Degraded.

    ``on_progress`` gets the objects not Healthy yet after every poll; a failure
    names every one of them with its reason, not just the worst.
    """
    deadline = time.monotonic() + timeout
    while True:
        per_object = await live_health(kube=kube, refs=refs)
        worst = aggregate(per_object.values())
        if worst.status is HealthStatus.HEALTHY:
            return worst
        by_name = sorted(
            ((r, h) for r, h in per_object.items() if h.status is not HealthStatus.HEALTHY),
            key=lambda rh: rh[0],
        )
        # Worst first; sorted() is stable, so objects of one status stay by name.
        waiting = tuple(sorted(by_name, key=lambda rh: rh[1].status, reverse=True))
        if on_progress is not None:
            on_progress(waiting)
        if worst.status is HealthStatus.DEGRADED:
            raise HealthTimeout(_unhealthy("Degraded", waiting), worst)
        if time.monotonic() > deadline:
            raise HealthTimeout(
                _unhealthy(f"not Healthy after {timeout:.0f}s", waiting), worst, timed_out=True
            )
        await asyncio.sleep(0.5)


def _unhealthy(what: str, waiting: tuple[tuple[ObjectRef, Health], ...]) -> str:
    shown = "; ".join(
        f"{ref}: {h.status.value}" + (f": {h.message}" if h.message else "") for ref, h in waiting
    )
    return f"{what}: {shown}"
