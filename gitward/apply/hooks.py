"""Helm hooks, mapped onto a sync.

What is mapped, exactly:

* ``pre-install`` runs before the objects on an app's first sync, ``pre-upgrade``
  on later syncs that change something; ``post-install``/``post-upgrade`` after.
  A sync that changes nothing runs no hook.
* ``helm.sh/hook-weight`` orders hooks within a phase (lower first).
* ``helm.sh/hook-delete-policy``: ``before-hook-creation`` (the default, as in
  Helm) deletes the previous run first; ``hook-succeeded`` and ``hook-failed``
  delete it after.
* A Job hook must reach Complete and a Pod hook Succeeded; a Failed one fails
  the sync. Any other kind counts as done once created.
* Not mapped: ``pre-delete``, ``post-delete``, ``pre-rollback``,
  ``post-rollback`` (gitward rolls back by a git revert, which is an upgrade)
  and ``test``. Hooks are not in the inventory and are never pruned.
"""

from __future__ import annotations

import asyncio
import time

from gitward.apply.changes import Change, Outcome
from gitward.kube import Kube, KubeError
from gitward.objects import Body
from gitward.plan.model import PlannedObject
from gitward.plan.order import HOOK_ANNOTATION, HOOK_DELETE_POLICY_ANNOTATION


class HookFailed(KubeError):
    pass


def _policies(hook: PlannedObject) -> set[str]:
    ann = ((hook.desired or {}).get("metadata") or {}).get("annotations") or {}
    raw = ann.get(HOOK_DELETE_POLICY_ANNOTATION, "before-hook-creation")
    return {p.strip() for p in str(raw).split(",") if p.strip()}


def _events(hook: PlannedObject) -> set[str]:
    ann = ((hook.desired or {}).get("metadata") or {}).get("annotations") or {}
    return {e.strip() for e in str(ann.get(HOOK_ANNOTATION, "")).split(",")}


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
            if c.get("type") == "Failed":
                return True, False, str(c.get("message") or c.get("reason") or "job failed")
        return False, False, ""
    if kind == "Pod":
        phase = status.get("phase")
        if phase == "Succeeded":
            return True, True, ""
        if phase == "Failed":
            return True, False, str(status.get("message") or "pod failed")
        return False, False, ""
    return True, True, ""


async def run_hook(*, kube: Kube, hook: PlannedObject, event: str, timeout: float) -> Change:
    """Run ``hook`` if it is registered for ``event``; raise :class:`HookFailed` if it fails."""
    if event not in _events(hook):
        return Change(hook.ref, Outcome.SKIPPED, f"not a {event} hook")
    assert hook.desired is not None
    res = await kube.resource_for(hook.api_version, hook.ref.kind)
    if res is None:
        raise HookFailed(f"{hook.ref}: the server has no kind {hook.ref.kind}")
    policies = _policies(hook)
    ns, name = hook.ref.namespace, hook.ref.name
    if "before-hook-creation" in policies:
        await kube.delete(res, name=name, namespace=ns, propagation="Foreground")
        deadline = time.monotonic() + timeout
        while await kube.get(res, name=name, namespace=ns) is not None:
            if time.monotonic() > deadline:
                raise HookFailed(f"{hook.ref}: previous run was not deleted in time")
            await asyncio.sleep(0.2)
    await kube.apply(hook.desired, force=True)
    deadline = time.monotonic() + timeout
    while True:
        done, ok, message = _finished(await kube.get(res, name=name, namespace=ns))
        if done:
            break
        if time.monotonic() > deadline:
            done, ok, message = True, False, f"did not finish within {timeout:.0f}s"
            break
        await asyncio.sleep(0.5)
    if (ok and "hook-succeeded" in policies) or (not ok and "hook-failed" in policies):
        await kube.delete(res, name=name, namespace=ns, propagation="Background")
    if not ok:
        raise HookFailed(f"{hook.ref}: {event} hook failed: {message}")
    return Change(hook.ref, Outcome.HOOK_SUCCEEDED, event)
