"""Health of a core ``v1`` Pod.

A pod's phase alone is too coarse: a pod whose image cannot be pulled, or
whose container crash-loops, stays ``Pending`` or ``Running`` for ever. So
before the phase settles anything, every container (init containers first,
since they block the rest) is checked for a waiting reason that only a
change of spec or config will clear; such a pod is ``Degraded`` and the
message names the container, the reason and the kubelet's own words.

Otherwise: ``Succeeded`` is healthy (a finished one-shot pod did its job),
``Failed`` is degraded, a running pod is healthy once its ``Ready``
condition is true, and anything else is progressing, with the scheduler's
or kubelet's explanation where there is one. Phase ``Unknown`` (the node
stopped reporting) maps to ``Unknown``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.health._fields import conditions_of, find, integer, join, mapping, maps, text
from gitward.health.status import Health
from gitward.objects import Body

#: Waiting reasons that will not clear without a change to the pod's inputs.
STUCK_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "ErrImageNeverPull",
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
    }
)


def assess(body: Body) -> Health:
    status = mapping(body, "status")
    phase = text(status, "phase")
    if phase == "Succeeded":
        return Health.healthy("pod completed")
    if phase == "Failed":
        return Health.degraded(_failure(status))
    if phase == "Unknown":
        return Health.unknown(join("pod phase is Unknown", text(status, "message")))

    for container in (*maps(status, "initContainerStatuses"), *maps(status, "containerStatuses")):
        waiting = mapping(container, "state", "waiting")
        reason = text(waiting, "reason")
        if reason in STUCK_REASONS:
            name = text(container, "name")
            return Health.degraded(join(f"container {name}", reason, text(waiting, "message")))

    conditions = conditions_of(body)
    ready = find(conditions, "Ready")
    if phase == "Running" and ready is not None and ready.is_true:
        return Health.healthy()
    if scheduled := find(conditions, "PodScheduled", status=False):
        return Health.progressing(join("pod is not scheduled", scheduled.detail))
    if ready is not None and ready.is_false and ready.message:
        return Health.progressing(join(f"pod is {phase or 'Pending'}", ready.message))
    return Health.progressing(f"pod is {phase or 'Pending'}")


def _failure(status: Mapping[str, Any]) -> str:
    """Why a pod failed: the pod's own reason, else its first failed container."""
    if text(status, "reason") or text(status, "message"):
        return join("pod failed", text(status, "reason"), text(status, "message"))
    for container in (*maps(status, "initContainerStatuses"), *maps(status, "containerStatuses")):
        terminated = mapping(container, "state", "terminated")
        code = integer(terminated, "exitCode")
        if code != 0:
            reason = text(terminated, "reason") or "Error"
            return f"pod failed: container {text(container, 'name')}: {reason} (exit code {code})"
    return "pod failed"
