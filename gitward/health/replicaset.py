"""Health of an ``apps/v1`` ReplicaSet.

Most ReplicaSets belong to a Deployment, which reports on them; this module
judges one on its own (a bare ReplicaSet in git, or an old one in a report).
It is healthy when every desired replica is available and no surplus pods
wait to terminate. ``ReplicaFailure`` is ``Degraded`` because it means pods
are being refused (quota, admission) and waiting will not change that.
"""

from __future__ import annotations

from gitward.health._fields import conditions_of, find, integer, join, mapping, unobserved_rollout
from gitward.health.status import Health
from gitward.objects import Body


def assess(body: Body) -> Health:
    if waiting := unobserved_rollout(body):
        return Health.progressing(waiting)
    failure = find(conditions_of(body), "ReplicaFailure")
    if failure is not None and failure.is_true:
        return Health.degraded(join("replica failure", failure.detail))

    status = mapping(body, "status")
    desired = integer(mapping(body, "spec"), "replicas", default=1)
    total = integer(status, "replicas")
    available = integer(status, "availableReplicas")
    if available < desired:
        return Health.progressing(f"{available} of {desired} replicas are available")
    if total > desired:
        return Health.progressing(f"{total - desired} surplus replicas are pending termination")
    return Health.healthy()
