"""Health of an ``apps/v1`` ReplicaSet.

Most ReplicaSets belong to a Deployment, which reports on them; this module
judges one on its own (a bare ReplicaSet in git, or an old one in a report).
It is healthy when every desired replica is available and no surplus pods
wait to terminate. ``ReplicaFailure`` is ``Degraded`` because it means pods
are being refused (quota, admission) and waiting will not change that.
"""

from __future__ import annotations

from collections.abc import Iterable

from gitward.health._fields import (
    Condition,
    Replicas,
    conditions_of,
    find,
    join,
    unobserved_rollout,
)
from gitward.health.status import Health
from gitward.objects import Body


def refused(conditions: Iterable[Condition]) -> Health | None:
    """``Degraded`` when ``ReplicaFailure`` says pods are refused; a Deployment reports
    its ReplicaSet's."""
    failure = find(conditions, "ReplicaFailure", status=True)
    return Health.degraded(join("replica failure", failure.detail)) if failure else None


def assess(body: Body) -> Health:
    if waiting := unobserved_rollout(body):
        return Health.progressing(waiting)
    if failed := refused(conditions_of(body)):
        return failed

    n = Replicas.of(body)
    if n.available < n.desired:
        return Health.progressing(f"{n.available} of {n.desired} replicas are available")
    if n.total > n.desired:
        return Health.progressing(f"{n.total - n.desired} surplus replicas are pending termination")
    return Health.healthy()
