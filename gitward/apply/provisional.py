"""A first install's schema-checked objects are created before anything else, all or none.

A first install checks its new objects of built-in kinds against the API
server's OpenAPI schema instead of a dry-run each (:mod:`gitward.plan.prechecks`).
What a schema cannot show (a Deployment whose selector does not match its
template, an invalid name) the server refuses when it creates the object. So
these creates come first, before any other write of the sync: the new
Namespaces, then the rest at once, with the sync's concurrency.

If the server refuses any, every object this step created is deleted again:

* only what this sync made: the apply said 201 Created, and the delete has
  that object's uid as precondition, so an object made by someone else in the
  meantime stays;
* in the foreground, and waited for until gone, so what a controller made
  from it (a Deployment's ReplicaSets and Pods) goes first; an object in a
  Namespace this step created goes with its Namespace.

None of them existed before, so the cluster is as it was, and the refusals
are the plan errors a dry-run would have given: the sync reports them the
same way. Only when the undo itself fails does a refusal become a cluster
failure that lists what was left behind.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from gitward.apply.changes import Change, Outcome
from gitward.kube import Conflict, Kube, KubeError, without_subject
from gitward.objects import Body, Manifest, ObjectRef
from gitward.plan.annotations import read
from gitward.plan.model import Action, ObjectError, Plan, PlannedObject

_T = TypeVar("_T")

_NAMESPACE_STAGE = 1  # see gitward.plan.order


@dataclass(frozen=True)
class CreatedFirst:
    """Every provisional create succeeded: their changes and the bodies the server returned."""

    done: dict[ObjectRef, tuple[Change, Body]] = field(default_factory=dict)


@dataclass(frozen=True)
class Refused:
    """The server refused some creates; what this step created was deleted again,
    except for ``left`` (created, and still there because the undo failed)."""

    errors: tuple[ObjectError, ...]
    left: tuple[Change, ...] = ()

    @property
    def undone(self) -> bool:
        return not self.left


def provisional(plan: Plan) -> list[PlannedObject]:
    """What the creates-first step writes: the schema-checked creates, and the new
    Namespaces they may live in. Empty when nothing is schema-checked only."""
    creates = plan.of(Action.CREATE)
    if not any(o.schema_only for o in creates):
        return []
    return [
        o
        for o in creates
        if o.desired
        and (
            o.schema_only
            # Replace=true is created whole (POST) by the applier, not applied.
            or (
                o.sort_key.stage == _NAMESPACE_STAGE
                and not read(Manifest(o.desired, o.source)).options.replace
            )
        )
    ]


async def create_first(
    *,
    kube: Kube,
    plan: Plan,
    concurrency: int,
    force_conflicts: bool,
    timeout: float,
) -> CreatedFirst | Refused:
    """Create :func:`provisional` objects, Namespaces first; all of them, or none."""
    objects = provisional(plan)
    if not objects:
        return CreatedFirst()
    sem = asyncio.Semaphore(concurrency)
    created: list[tuple[PlannedObject, Body]] = []
    errors: list[ObjectError] = []
    for stage in sorted({o.sort_key.stage for o in objects}):
        group = [o for o in objects if o.sort_key.stage == stage]
        results = await asyncio.gather(
            *(_bounded(sem, _create(kube, o, plan.field_manager, force_conflicts)) for o in group)
        )
        for o, r in zip(group, results, strict=True):
            if isinstance(r, ObjectError):
                errors.append(r)
            elif r is not None:
                created.append((o, r))
        if errors:
            # Objects of the next stage may need what failed here (their Namespace).
            break
    if not errors:
        return CreatedFirst(
            {o.ref: (Change(o.ref, Outcome.CREATED, o.reason), body) for o, body in created}
        )
    left = await _undo(kube, created, sem, deadline=time.monotonic() + timeout)
    return Refused(errors=tuple(errors), left=left)


async def _bounded(sem: asyncio.Semaphore, coro: Awaitable[_T]) -> _T:
    async with sem:
        return await coro


async def _create(
    kube: Kube, o: PlannedObject, manager: str, force: bool
) -> Body | ObjectError | None:
    """The created object; ``None`` when it turned out to exist already (made by
    someone else since the plan read the cluster): applied, but not ours to undo."""
    assert o.desired is not None
    try:
        body, created = await kube.apply_new(o.desired, force=force, field_manager=manager)
    except KubeError as e:
        return ObjectError(o.ref, o.source, without_subject(e))
    return body if created else None


async def _undo(
    kube: Kube,
    created: list[tuple[PlannedObject, Body]],
    sem: asyncio.Semaphore,
    *,
    deadline: float,
) -> tuple[Change, ...]:
    """Delete what was created, Namespaces last; what could not be deleted, as changes."""
    namespaces = {o.ref.name for o, _ in created if o.ref.kind == "Namespace" and not o.ref.group}
    # An object in a Namespace created here goes with the Namespace.
    inside = [(o, b) for o, b in created if o.ref.namespace not in namespaces]
    stages = [
        [(o, b) for o, b in inside if o.sort_key.stage != _NAMESPACE_STAGE],
        [(o, b) for o, b in inside if o.sort_key.stage == _NAMESPACE_STAGE],
    ]
    left: list[Change] = []
    for group in stages:
        results = await asyncio.gather(
            *(_bounded(sem, _delete_created(kube, o, b, deadline)) for o, b in group)
        )
        left.extend(
            Change(o.ref, Outcome.CREATED, f"refused objects in the same sync; not deleted: {r}")
            for (o, _), r in zip(group, results, strict=True)
            if r
        )
    return tuple(left)


async def _delete_created(kube: Kube, o: PlannedObject, body: Body, deadline: float) -> str:
    """Delete one created object and wait until it is gone; why not, or ``""``."""
    uid = str((body.get("metadata") or {}).get("uid") or "")
    try:
        res = await kube.resource_for(o.api_version, o.ref.kind)
        if res is None or not uid:
            return "its kind or uid is unknown"
        await kube.delete(
            res, name=o.ref.name, namespace=o.ref.namespace, propagation="Foreground", uid=uid
        )
        delay = 0.05
        while True:
            live = await kube.get(res, name=o.ref.name, namespace=o.ref.namespace)
            if live is None or (live.get("metadata") or {}).get("uid") != uid:
                return ""
            if time.monotonic() > deadline:
                return "still present after delete"
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
    except Conflict:
        return ""  # the uid precondition failed: ours is gone, a newer one is not ours
    except KubeError as e:
        return without_subject(e)


__all__ = ["CreatedFirst", "Refused", "create_first", "provisional"]
