"""Health of an ``apps/v1`` Deployment.

A Deployment is healthy when its controller has seen the latest spec and
every desired replica runs that spec and is available. Only the controller
can say a rollout is stuck: it sets the ``Progressing`` condition to reason
``ProgressDeadlineExceeded`` once ``spec.progressDeadlineSeconds`` passes
without progress, and that is the only road to ``Degraded`` from counts
alone. ``ReplicaFailure`` (pods refused by quota or admission) is also
``Degraded``: it names the cause long before the deadline would.

A paused Deployment is ``Progressing`` with the message "deployment is
paused": its rollout will not finish until someone resumes it, so a wait
must not report it done; we have no separate "suspended" status because a
wait would treat it the same way.
"""

from __future__ import annotations

from gitward.health._fields import Replicas, conditions_of, find, join, mapping, unobserved_rollout
from gitward.health.replicaset import refused
from gitward.health.status import Health
from gitward.objects import Body


def assess(body: Body) -> Health:
    if mapping(body, "spec").get("paused") is True:
        return Health.progressing("deployment is paused")
    if waiting := unobserved_rollout(body):
        return Health.progressing(waiting)

    conditions = conditions_of(body)
    stalled = find(conditions, "Progressing")
    if stalled is not None and stalled.reason == "ProgressDeadlineExceeded":
        return Health.degraded(join("progress deadline exceeded", stalled.message))
    if failed := refused(conditions):
        return failed

    n = Replicas.of(body)
    if n.updated < n.desired:
        return Health.progressing(f"{n.updated} of {n.desired} replicas are updated")
    if n.total > n.updated:
        return Health.progressing(f"{n.total - n.updated} old replicas are pending termination")
    if n.available < n.updated:
        return Health.progressing(f"{n.available} of {n.updated} updated replicas are available")
    return Health.healthy()
