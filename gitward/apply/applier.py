"""Applying a :class:`~gitward.plan.model.Plan` to the cluster.

Only objects the plan marks as changing are written; unchanged objects cause
no request at all. Objects go in the plan's order, one (phase, stage, wave)
group at a time with bounded concurrency inside a group; CRDs are waited on
until Established before anything else, and prune runs last, in reverse.

A failure is a result, not an exception: the change set holds every change
made and every failure, so the caller can record what really happened. The
first group with a failure stops the sync (later waves may depend on it, and
prune must not remove what the failed objects were to replace); what was not
reached is listed as skipped.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from gitward.apply.changes import Change, ChangeSet, Outcome
from gitward.apply.hooks import HookFailed, run_hook
from gitward.config.identity import SHARED_FIELD_MANAGER
from gitward.kube import Kube, KubeError
from gitward.objects import Body, ObjectRef
from gitward.plan.model import Action, Plan, PlannedObject
from gitward.plan.order import Phase

_T = TypeVar("_T")


@dataclass(frozen=True)
class ApplyOptions:
    force_conflicts: bool = False
    concurrency: int = 16
    crd_timeout: float = 60.0
    hook_timeout: float = 300.0


class ApplyFailed(KubeError):
    """A step of the apply did not finish (an object not gone, a CRD not Established)."""


NOT_REACHED = "not applied: an earlier step of this sync failed"


async def apply_plan(
    *, kube: Kube, plan: Plan, options: ApplyOptions = ApplyOptions()
) -> tuple[ChangeSet, dict[ObjectRef, Body]]:
    """Carry out ``plan``. Returns what happened, failures included, and the bodies the
    server returned. Raises only when the API server cannot be reached at all."""
    changes: list[Change] = []
    applied: dict[ObjectRef, Body] = {}
    sem = asyncio.Semaphore(options.concurrency)
    if not plan.changes:
        return ChangeSet(tuple(_unchanged(plan))), applied

    hook_event = "upgrade" if plan.installed else "install"
    for phase, group in itertools.groupby(
        (o for o in plan.objects if o.action is not Action.PRUNE), key=lambda o: o.sort_key[0]
    ):
        members = list(group)
        if phase != Phase.SYNC:
            prefix = "pre" if phase == Phase.PRE_SYNC else "post"
            for hook in members:
                if hook.action is Action.HOOK:
                    try:
                        change = await run_hook(
                            kube=kube,
                            hook=hook,
                            event=f"{prefix}-{hook_event}",
                            timeout=options.hook_timeout,
                        )
                    except KubeError as e:
                        change = Change(hook.ref, Outcome.FAILED, _detail(e))
                    changes.append(change)
                    if change.outcome is Outcome.FAILED:
                        return _stopped(plan, changes), applied
            continue
        for _, wave in itertools.groupby(members, key=lambda o: o.sort_key[1:3]):
            batch = list(wave)
            results = await asyncio.gather(
                *(_bounded(sem, _apply_one(kube, o, options, plan.field_manager)) for o in batch)
            )
            for o, (change, body) in zip(batch, results, strict=True):
                changes.append(change)
                if body is not None:
                    applied[o.ref] = body
            if any(c.outcome is Outcome.FAILED for c, _ in results):
                return _stopped(plan, changes), applied
            crds = [
                (o.ref, b)
                for o, (_, b) in zip(batch, results, strict=True)
                if o.ref.kind == "CustomResourceDefinition" and b
            ]
            if crds:
                try:
                    await _wait_established(kube, [b for _, b in crds], options.crd_timeout)
                except ApplyFailed as e:
                    changes.append(Change(crds[0][0], Outcome.FAILED, _detail(e)))
                    return _stopped(plan, changes), applied

    for o in reversed(plan.of(Action.PRUNE)):
        changes.append(await _prune_one(kube, o))
    changes.extend(Change(o.ref, Outcome.SKIPPED, o.reason) for o in plan.of(Action.SKIP))
    return ChangeSet(tuple(changes)), applied


def _stopped(plan: Plan, changes: list[Change]) -> ChangeSet:
    """``changes`` so far, and every object of the plan not reached: skipped, or
    unchanged when there was nothing to do for it anyway."""
    done = {c.ref for c in changes}
    rest = [
        Change(o.ref, Outcome.UNCHANGED)
        if o.action is Action.UNCHANGED
        else Change(o.ref, Outcome.SKIPPED, o.reason if o.action is Action.SKIP else NOT_REACHED)
        for o in plan.objects
        if o.ref not in done
    ]
    return ChangeSet((*changes, *rest))


def _detail(e: KubeError) -> str:
    """The server's reason without our leading subject; the change names the object."""
    return str(e).split(": ", 1)[-1]


def _unchanged(plan: Plan) -> list[Change]:
    out = []
    for o in plan.objects:
        if o.action is Action.SKIP:
            out.append(Change(o.ref, Outcome.SKIPPED, o.reason))
        elif o.action is Action.UNCHANGED:
            out.append(Change(o.ref, Outcome.UNCHANGED))
    return out


async def _bounded(sem: asyncio.Semaphore, coro: Awaitable[_T]) -> _T:
    async with sem:
        return await coro


async def _apply_one(
    kube: Kube, o: PlannedObject, options: ApplyOptions, manager: str
) -> tuple[Change, Body | None]:
    if o.action is Action.UNCHANGED:
        return Change(o.ref, Outcome.UNCHANGED), o.live
    if o.action in (Action.SKIP, Action.HOOK) or o.desired is None:
        return Change(o.ref, Outcome.SKIPPED, o.reason), None
    shared = o.moves_from_shared_manager
    try:
        if o.action is Action.RECREATE:
            await _delete_and_wait(kube, o)
        body = await kube.apply(
            o.desired, force=options.force_conflicts or shared, field_manager=manager
        )
        if shared:
            body = await _release_shared_manager(kube, o.desired)
    except KubeError as e:
        return Change(o.ref, Outcome.FAILED, _detail(e)), None
    outcome = {
        Action.CREATE: Outcome.CREATED,
        Action.UPDATE: Outcome.CONFIGURED,
        Action.RECREATE: Outcome.RECREATED,
    }[o.action]
    return Change(o.ref, outcome, o.reason), body


async def _release_shared_manager(kube: Kube, desired: Body) -> Body:
    """Drop every field the shared manager holds; the app's own manager holds them now.

    An apply of an empty configuration releases what that manager owned; a
    field it no longer owns alone stays.
    """
    meta = desired["metadata"]
    empty: Body = {
        "apiVersion": desired["apiVersion"],
        "kind": desired["kind"],
        "metadata": {
            "name": meta["name"],
            **({"namespace": meta["namespace"]} if meta.get("namespace") else {}),
        },
    }
    return await kube.apply(empty, field_manager=SHARED_FIELD_MANAGER)


async def _delete_and_wait(kube: Kube, o: PlannedObject, timeout: float = 60.0) -> None:
    res = await kube.resource_for(o.api_version, o.ref.kind)
    if res is None:
        return
    await kube.delete(res, name=o.ref.name, namespace=o.ref.namespace, propagation="Foreground")
    await _until(
        lambda: _gone(kube, o), timeout=timeout, what=f"{o.ref}: still present after delete"
    )


async def _gone(kube: Kube, o: PlannedObject) -> bool:
    res = await kube.resource_for(o.api_version, o.ref.kind)
    return res is None or await kube.get(res, name=o.ref.name, namespace=o.ref.namespace) is None


async def _until(check: Callable[[], Awaitable[bool]], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while not await check():
        if time.monotonic() > deadline:
            raise ApplyFailed(what)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


async def _wait_established(kube: Kube, crds: list[Body], timeout: float) -> None:
    res = await kube.resource_for("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    assert res is not None

    async def established() -> bool:
        for crd in crds:
            live = await kube.get(res, name=crd["metadata"]["name"])
            conds = ((live or {}).get("status") or {}).get("conditions") or []
            if not any(c.get("type") == "Established" and c.get("status") == "True" for c in conds):
                return False
        return True

    names = ", ".join(c["metadata"]["name"] for c in crds)
    await _until(
        established, timeout=timeout, what=f"CustomResourceDefinition {names}: not Established"
    )
    await kube.discover(refresh=True)


async def _prune_one(kube: Kube, o: PlannedObject) -> Change:
    res = await kube.resource_for(o.api_version, o.ref.kind)
    if res is None:
        return Change(o.ref, Outcome.SKIPPED, "kind no longer served")
    uid = ((o.live or {}).get("metadata") or {}).get("uid")
    if not uid:
        # Without a uid precondition a same-named object made since could go.
        return Change(o.ref, Outcome.SKIPPED, "not pruned: no uid to make the delete safe")
    try:
        await kube.delete(res, name=o.ref.name, namespace=o.ref.namespace, uid=uid)
    except KubeError as e:
        return Change(o.ref, Outcome.FAILED, _detail(e))
    return Change(o.ref, Outcome.PRUNED)


__all__ = ["ApplyFailed", "ApplyOptions", "HookFailed", "apply_plan"]
