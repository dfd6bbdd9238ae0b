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

from gitward.health._fields import conditions_of, find, integer, join, mapping, unobserved_rollout
from gitward.health.status import Health
from gitward.objects import Body


def assess(body: Body) -> Health:
    spec = mapping(body, "spec")
    status = mapping(body, "status")
    if spec.get("paused") is True:
        return Health.progressing("deployment is paused")
    if waiting := unobserved_rollout(body):
        return Health.progressing(waiting)

    conditions = conditions_of(body)
    stalled = find(conditions, "Progressing")
    if stalled is not None and stalled.reason == "ProgressDeadlineExceeded":
        return Health.degraded(join("progress deadline exceeded", stalled.message))
    failure = find(conditions, "ReplicaFailure")
    if failure is not None and failure.is_true:
        return Health.degraded(join("replica failure", failure.detail))

    desired = integer(spec, "replicas", default=1)
    updated = integer(status, "updatedReplicas")
    total = integer(status, "replicas")
    available = integer(status, "availableReplicas")
    if updated < desired:
        return Health.progressing(f"{updated} of {desired} replicas are updated")
    if total > updated:
        return Health.progressing(f"{total - updated} old replicas are pending termination")
    if available < updated:
        return Health.progressing(f"{available} of {updated} updated replicas are available")
    return Health.healthy()
