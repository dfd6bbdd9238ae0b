"""Applying a :class:`~gitward.plan.model.Plan` to the cluster.

Only objects the plan marks as changing are written; unchanged objects cause
no request at all. The order:

1. CRDs (waited on until Established) and Namespaces, so that hooks, too, find
   their kinds and namespaces;
2. the hooks that run before the objects;
3. the objects, one wave at a time with bounded concurrency inside a wave,
   each wave's Argo ``Sync`` hooks with it, and the next wave only once this
   one is Healthy (see :mod:`gitward.apply.waves`);
4. the hooks that run after the objects;
5. prune, last, in reverse order.

A failure is a result, not an exception: the change set holds every change
made and every failure, so the caller can record what really happened. The
first step with a failure stops the sync (later waves may depend on it, and
prune must not remove what the failed objects were to replace); what was not
reached is listed as skipped, and the ``SyncFail`` hooks run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from gitward.apply.changes import Change, ChangeSet, Outcome
from gitward.apply.errors import ApplyFailed, HookFailed, WaveUnhealthy
from gitward.apply.hooks import run_hook, run_sync_fail_hooks, runs_at
from gitward.apply.waves import Wave, wait_healthy, waves_of
from gitward.config.identity import SHARED_FIELD_MANAGER
from gitward.kube import Kube, KubeError, without_subject
from gitward.objects import Body, Manifest, ObjectRef
from gitward.plan.annotations import Moment, pruned_how, read
from gitward.plan.model import Action, Plan, PlannedObject

_T = TypeVar("_T")


@dataclass(frozen=True)
class ApplyOptions:
    force_conflicts: bool = False
    concurrency: int = 16
    crd_timeout: float = 60.0
    timeout: float = 300.0  # the sync's: bounds hooks and the waits between waves


NOT_REACHED = "not applied: an earlier step of this sync failed"


async def apply_plan(
    *,
    kube: Kube,
    plan: Plan,
    options: ApplyOptions = ApplyOptions(),
    done: Mapping[ObjectRef, tuple[Change, Body]] | None = None,
) -> tuple[ChangeSet, dict[ObjectRef, Body]]:
    """Carry out ``plan``. Returns what happened, failures included, and the bodies the
    server returned. Raises only when the API server cannot be reached at all.

    ``done``: objects already written by this sync (see :mod:`gitward.apply.provisional`),
    with their change and body; they are not written again."""
    changes: list[Change] = []
    applied: dict[ObjectRef, Body] = {}
    if not plan.changes:
        return ChangeSet(tuple(_unchanged(plan))), applied
    run = _Run(
        kube=kube,
        plan=plan,
        options=options,
        sem=asyncio.Semaphore(options.concurrency),
        deadline=time.monotonic() + options.timeout,
        changes=changes,
        applied=applied,
        done=done or {},
    )
    try:
        await _apply_in_order(run)
        for o in reversed(plan.of(Action.PRUNE)):
            changes.append(await _prune_one(kube, o))
        changes.extend(Change(o.ref, Outcome.SKIPPED, o.reason) for o in plan.of(Action.SKIP))
        _raise_failed(plan.app, [c for c in changes if c.outcome is Outcome.FAILED])
    except ApplyFailed:
        # Every step that raises has put its failed change in ``changes`` first.
        await _after_failure(run)
        return _stopped(plan, changes), applied
    return ChangeSet(tuple(changes)), applied


@dataclass
class _Run:
    """One apply in progress: what it works on and what it has done so far."""

    kube: Kube
    plan: Plan
    options: ApplyOptions
    sem: asyncio.Semaphore
    deadline: float  # monotonic
    changes: list[Change]
    applied: dict[ObjectRef, Body]
    done: Mapping[ObjectRef, tuple[Change, Body]]

    @property
    def hooks(self) -> list[PlannedObject]:
        return list(self.plan.of(Action.HOOK))

    async def hook(self, hook: PlannedObject, moment: Moment) -> None:
        try:
            change = await run_hook(
                kube=self.kube,
                hook=hook,
                moment=moment,
                field_manager=self.plan.field_manager,
                deadline=self.deadline,
            )
        except HookFailed as e:
            self.changes.append(Change(hook.ref, Outcome.FAILED, without_subject(e)))
            raise
        self.changes.append(change)


async def _apply_in_order(run: _Run) -> None:
    plan = run.plan
    # An app that never synced successfully is still being installed, whatever
    # was tried before (see gitward.reconcile).
    pre, post = (
        (Moment.PRE_UPGRADE, Moment.POST_UPGRADE)
        if plan.installed
        else (Moment.PRE_INSTALL, Moment.POST_INSTALL)
    )
    objects = list(plan.to_apply())
    waves = waves_of(objects, [h for h in run.hooks if runs_at(h, Moment.SYNC)])
    for wave in (w for w in waves if w.stage < 2):
        await _apply_wave(run, wave)
    for hook in run.hooks:
        if runs_at(hook, pre):
            await run.hook(hook, pre)
    after = [h for h in run.hooks if runs_at(h, post)]
    later = [w for w in waves if w.stage >= 2]
    prune_last = any(pruned_how(_annotations(o.live))[1] for o in plan.of(Action.PRUNE))
    for i, wave in enumerate(later):
        await _apply_wave(run, wave)
        more = any(w.has_work for w in later[i + 1 :]) or bool(after) or prune_last
        if wave.writes and more:
            try:
                await wait_healthy(kube=run.kube, objects=wave.objects, deadline=run.deadline)
            except WaveUnhealthy as e:
                run.changes.extend(
                    Change(ref, Outcome.FAILED, f"{health}; later waves were not applied")
                    for ref, health in e.unhealthy
                )
                raise
    for hook in after:
        await run.hook(hook, post)


async def _apply_wave(run: _Run, wave: Wave) -> None:
    results = await asyncio.gather(
        *(
            _already(run.done[o.ref])
            if o.ref in run.done
            else _bounded(run.sem, _apply_one(run.kube, o, run.options, run.plan.field_manager))
            for o in wave.objects
        )
    )
    for o, (change, body) in zip(wave.objects, results, strict=True):
        run.changes.append(change)
        if body is not None:
            run.applied[o.ref] = body
    _raise_failed(run.plan.app, [c for c, _ in results if c.outcome is Outcome.FAILED])
    crds = [
        b
        for o, (_, b) in zip(wave.objects, results, strict=True)
        if o.ref.kind == "CustomResourceDefinition" and b
    ]
    if crds:
        try:
            await _wait_established(run.kube, crds, run.options.crd_timeout)
        except ApplyFailed as e:
            run.changes.append(Change(ObjectRef.of(crds[0]), Outcome.FAILED, without_subject(e)))
            raise
    for hook in wave.hooks:
        await run.hook(hook, Moment.SYNC)


async def _after_failure(run: _Run) -> None:
    """Run the SyncFail hooks, with time of their own; their changes join the rest."""
    run.changes.extend(
        await run_sync_fail_hooks(
            kube=run.kube,
            hooks=run.hooks,
            field_manager=run.plan.field_manager,
            deadline=time.monotonic() + run.options.timeout,
        )
    )


def _annotations(body: Body | None) -> dict[str, str]:
    return dict(((body or {}).get("metadata") or {}).get("annotations") or {})


def _replaces(o: PlannedObject) -> bool:
    """``Replace=true``: written whole (POST, PUT) instead of server-side applied."""
    return o.desired is not None and read(Manifest(o.desired, o.source)).options.replace


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


def _raise_failed(app: str, failed: list[Change]) -> None:
    """One error naming the first few failures (a refused prune fails the sync too)."""
    if failed:
        shown = "; ".join(f"{c.ref}: {c.message}" for c in failed[:3])
        more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
        raise ApplyFailed(f"app {app}: {shown}{more}")


def _unchanged(plan: Plan) -> list[Change]:
    out = []
    for o in plan.objects:
        if o.action is Action.SKIP:
            out.append(Change(o.ref, Outcome.SKIPPED, o.reason))
        elif o.action is Action.UNCHANGED:
            out.append(Change(o.ref, Outcome.UNCHANGED))
    return out


async def _already(done: tuple[Change, Body]) -> tuple[Change, Body | None]:
    return done


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
        if _replaces(o):
            write = kube.replace if o.action is Action.UPDATE else kube.create
            body = await write(o.desired, field_manager=manager)
        else:
            body = await kube.apply(
                o.desired, force=options.force_conflicts or shared, field_manager=manager
            )
        if shared:
            body = await _release_shared_manager(kube, o.desired)
    except KubeError as e:
        return Change(o.ref, Outcome.FAILED, without_subject(e)), None
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
        return Change(o.ref, Outcome.FAILED, without_subject(e))
    return Change(o.ref, Outcome.PRUNED)


__all__ = ["ApplyFailed", "ApplyOptions", "HookFailed", "WaveUnhealthy", "apply_plan"]
