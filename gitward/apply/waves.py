"""Sync waves: which objects go together, and waiting for a wave to be Healthy.

A wave is every object of the sync phase with the same (stage, wave) part of
the sort key, plus the Argo ``Sync`` hooks of that wave. As in Argo CD, the
next wave starts only once the objects of this one are Healthy: a database in
wave 0 is up before the app in wave 1 connects to it. The wait costs
requests, so it happens only when it can matter: after a wave that wrote
something, and only if something is still to come (a later wave that writes,
a hook after the objects, or a prune that waits for the rest).

Health is judged by :mod:`gitward.health` and combined with ``worse()``. A
Degraded object fails the sync at once; anything short of Healthy when the
sync's time runs out fails it naming the object.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from gitward.apply.errors import WaveUnhealthy
from gitward.health import Health, HealthStatus, aggregate, assess
from gitward.kube import Kube, KubeError, Resource
from gitward.objects import Body, ObjectRef
from gitward.plan.model import Action, PlannedObject


@dataclass(frozen=True)
class Wave:
    stage: int  # 0 CRDs, 1 Namespaces, 2 the rest (see gitward.plan.order)
    number: int
    objects: tuple[PlannedObject, ...]  # to apply (or unchanged)
    hooks: tuple[PlannedObject, ...]  # Argo Sync hooks run with them

    @property
    def writes(self) -> bool:
        return any(o.action.changes for o in self.objects)

    @property
    def has_work(self) -> bool:
        return self.writes or bool(self.hooks)


def waves_of(objects: Sequence[PlannedObject], sync_hooks: Sequence[PlannedObject]) -> list[Wave]:
    """The sync phase in order; ``objects`` and ``sync_hooks`` are in plan order."""
    keyed = sorted(
        [*((o, False) for o in objects), *((h, True) for h in sync_hooks)],
        key=lambda pair: pair[0].sort_key,
    )
    out = []
    for (stage, number), group in itertools.groupby(
        keyed, key=lambda p: (p[0].sort_key.stage, p[0].sort_key.wave)
    ):
        members = list(group)
        out.append(
            Wave(
                stage=stage,
                number=number,
                objects=tuple(o for o, hook in members if not hook),
                hooks=tuple(o for o, hook in members if hook),
            )
        )
    return out


async def wait_healthy(*, kube: Kube, objects: Sequence[PlannedObject], deadline: float) -> None:
    """Return once every object is Healthy; raise :class:`WaveUnhealthy` on a
    Degraded one, or when ``deadline`` (monotonic) passes, naming every object
    not Healthy yet, worst first."""
    watched = [o for o in objects if o.action not in (Action.SKIP, Action.HOOK, Action.PRUNE)]
    delay = 0.1
    while True:
        healths = await read_health(kube=kube, objects=watched)
        worst = aggregate(healths.values())
        if worst.status is HealthStatus.HEALTHY:
            return
        unhealthy = tuple(
            (r, h.status.value + (f": {h.message}" if h.message else ""))
            for r, h in healths.items()
            if h.status is not HealthStatus.HEALTHY
        )
        if worst.status is HealthStatus.DEGRADED:
            raise WaveUnhealthy(
                f"{_not_healthy(healths)}; later waves were not applied", unhealthy=unhealthy
            )
        if time.monotonic() + delay > deadline:
            raise WaveUnhealthy(
                f"{_not_healthy(healths)}; the sync timed out, later waves were not applied",
                unhealthy=unhealthy,
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


def _not_healthy(healths: dict[ObjectRef, Health]) -> str:
    waiting = sorted(
        ((ref, h) for ref, h in healths.items() if h.status is not HealthStatus.HEALTHY),
        key=lambda rh: (-rh[1].status.severity, rh[0]),
    )
    return "; ".join(
        f"{ref}: {h.status.value}" + (f": {h.message}" if h.message else "") for ref, h in waiting
    )


async def read_health(*, kube: Kube, objects: Sequence[PlannedObject]) -> dict[ObjectRef, Health]:
    """Each object's health, read live: one GET for an object alone in its kind
    and namespace, one LIST for several."""
    groups: dict[tuple[Resource, str], list[PlannedObject]] = defaultdict(list)
    out: dict[ObjectRef, Health] = {}
    for o in objects:
        res = await kube.resource_for(o.api_version, o.ref.kind)
        if res is None:
            out[o.ref] = Health.unknown(f"the server has no kind {o.ref.kind}")
        else:
            groups[(res, o.ref.namespace)].append(o)

    async def one(res: Resource, ns: str, members: list[PlannedObject]) -> dict[str, Body]:
        if len(members) == 1:
            body = await kube.get(res, name=members[0].ref.name, namespace=ns)
            return {members[0].ref.name: body} if body is not None else {}
        items, _ = await kube.list(res, namespace=ns)
        return {str(i["metadata"]["name"]): i for i in items}

    async def judged(res: Resource, ns: str, members: list[PlannedObject]) -> None:
        try:
            found = await one(res, ns, members)
        except KubeError as e:
            # Not a verdict: Unknown keeps the wait going until the deadline.
            for o in members:
                out[o.ref] = Health.unknown(str(e).split(": ", 1)[-1])
            return
        for o in members:
            body = found.get(o.ref.name)
            if body is not None:
                body.setdefault("apiVersion", res.api_version)
                body.setdefault("kind", res.kind)
            out[o.ref] = assess(body)

    await asyncio.gather(*(judged(r, ns, members) for (r, ns), members in groups.items()))
    return out


__all__ = ["Wave", "WaveUnhealthy", "read_health", "wait_healthy", "waves_of"]
