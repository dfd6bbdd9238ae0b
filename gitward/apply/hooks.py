"""Hooks, Helm's and Argo CD's, run at their moment of a sync.

When a hook runs (see :class:`~gitward.plan.annotations.Moment`):

* Helm ``pre-install`` before the objects of an app's first successful sync
  (a sync that failed does not count, so its retry is still an install),
  ``pre-upgrade`` before those of later syncs; ``post-install`` and
  ``post-upgrade`` after them. Argo ``PreSync`` and ``PostSync`` run on both.
* Argo ``Sync`` hooks run in their wave, with its objects; ``SyncFail`` hooks
  run after a sync that failed once it had started writing.
* A sync that changes nothing runs no hook. Helm's delete, rollback and test
  hooks and Argo's ``PreDelete``/``PostDelete`` never run: gitward never
  deletes an app, and a rollback is a git revert, which is an upgrade.

How it runs: a hook with ``metadata.generateName`` is created anew each run
(a POST: server-side apply needs a name); a named one is applied. Either way
it is written by the app's field manager and never carries the tracking
annotation: hooks are not in the inventory and are never pruned. A Job must
reach Complete and a Pod Succeeded; any other kind must become Healthy. A
Failed or Degraded hook fails the sync.

Delete policies (Helm's names or Argo's; ``BeforeHookCreation`` when none is
given, as in both): ``BeforeHookCreation`` deletes the previous run of a
named hook before creating it (a generateName hook has no previous name, as in
Argo CD); ``HookSucceeded`` / ``HookFailed`` delete it after it succeeded /
failed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from gitward.apply.changes import Change, Outcome
from gitward.apply.errors import HookFailed
from gitward.health import HealthStatus, assess
from gitward.kube import Kube, KubeError, Resource, without_subject
from gitward.objects import Body, Manifest
from gitward.plan.annotations import DeletePolicy, Hook, Moment, read
from gitward.plan.model import PlannedObject


def hook_of(o: PlannedObject) -> Hook | None:
    """The hook ``o`` is (its annotations were validated by the plan)."""
    if o.desired is None:
        return None
    return read(Manifest(body=o.desired, source=o.source)).hook


def runs_at(o: PlannedObject, moment: Moment) -> bool:
    hook = hook_of(o)
    return hook is not None and moment in hook.moments


def _finished(body: Body | None) -> tuple[bool, bool, str]:
    """(done, ok, message) for a hook's live object."""
    if body is None:
        return True, False, "disappeared while running"
    kind = body.get("kind")
    status = body.get("status") or {}
    if kind == "Job":
        for c in status.get("conditions") or []:
            if c.get("status") != "True":
                continue
            if c.get("type") in ("Complete", "SuccessCriteriaMet"):
                return True, True, ""
            if c.get("type") in ("Failed", "FailureTarget"):
                return True, False, str(c.get("message") or c.get("reason") or "job failed")
        return False, False, ""
    if kind == "Pod":
        phase = status.get("phase")
        if phase == "Succeeded":
            return True, True, ""
        if phase == "Failed":
            return True, False, str(status.get("message") or "pod failed")
        return False, False, ""
    health = assess(body)
    if health.status is HealthStatus.HEALTHY:
        return True, True, ""
    if health.status is HealthStatus.DEGRADED:
        return True, False, health.message or "Degraded"
    return False, False, ""


async def run_hook(
    *, kube: Kube, hook: PlannedObject, moment: Moment, field_manager: str, deadline: float
) -> Change:
    """Run ``hook`` once; raise :class:`HookFailed` if it fails or ``deadline``
    (monotonic) passes first."""
    spec = hook_of(hook)
    assert hook.desired is not None and spec is not None
    res = await kube.resource_for(hook.api_version, hook.ref.kind)
    if res is None:
        raise HookFailed(f"{hook.ref}: the server has no kind {hook.ref.kind}")
    named = bool(hook.desired["metadata"].get("name"))
    ns, ref = hook.ref.namespace, hook.ref
    policies = spec.delete_policies
    try:
        if named and DeletePolicy.BEFORE_HOOK_CREATION in policies:
            await _delete_previous(kube, res, hook, deadline)
        if named:
            live = await kube.apply(hook.desired, force=True, field_manager=field_manager)
        else:
            live = await kube.create(hook.desired, field_manager=field_manager)
        name = str(live["metadata"]["name"])
        ref = replace(hook.ref, name=name)
        ok, message = await _outcome(kube, res, name, ns, deadline)
        if (ok and DeletePolicy.HOOK_SUCCEEDED in policies) or (
            not ok and DeletePolicy.HOOK_FAILED in policies
        ):
            await kube.delete(res, name=name, namespace=ns, propagation="Background")
    except HookFailed:
        raise
    except KubeError as e:
        raise HookFailed(f"{ref}: {moment.value} hook: {without_subject(e)}") from e
    if not ok:
        raise HookFailed(f"{ref}: {moment.value} hook failed: {message}")
    return Change(ref, Outcome.HOOK_SUCCEEDED, moment.value)


async def _outcome(
    kube: Kube, res: Resource, name: str, ns: str, deadline: float
) -> tuple[bool, str]:
    delay = 0.1
    while True:
        body = await kube.get(res, name=name, namespace=ns)
        if body is not None:
            body.setdefault("apiVersion", res.api_version)
            body.setdefault("kind", res.kind)
        done, ok, message = _finished(body)
        if done:
            return ok, message
        if time.monotonic() + delay > deadline:
            return False, "did not finish before the sync timed out"
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


async def _delete_previous(kube: Kube, res: Resource, hook: PlannedObject, deadline: float) -> None:
    ns, name = hook.ref.namespace, hook.ref.name
    if not await kube.delete(res, name=name, namespace=ns, propagation="Foreground"):
        return
    while await kube.get(res, name=name, namespace=ns) is not None:
        if time.monotonic() > deadline:
            raise HookFailed(f"{hook.ref}: its previous run was not deleted in time")
        await asyncio.sleep(0.2)


async def run_sync_fail_hooks(
    *, kube: Kube, hooks: list[PlannedObject], field_manager: str, deadline: float
) -> list[Change]:
    """Run every ``SyncFail`` hook; a failing one is a change, not an exception
    (the sync has failed already, and its own error is the one to report)."""
    out = []
    for hook in hooks:
        if not runs_at(hook, Moment.SYNC_FAIL):
            continue
        try:
            out.append(
                await run_hook(
                    kube=kube,
                    hook=hook,
                    moment=Moment.SYNC_FAIL,
                    field_manager=field_manager,
                    deadline=deadline,
                )
            )
        except HookFailed as e:
            out.append(Change(hook.ref, Outcome.FAILED, str(e).split(": ", 1)[-1]))
    return out


__all__ = ["HookFailed", "hook_of", "run_hook", "run_sync_fail_hooks", "runs_at"]
