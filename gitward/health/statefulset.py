"""Health of an ``apps/v1`` StatefulSet.

A StatefulSet is healthy when its controller has seen the latest spec,
every desired replica is ready (and available, where the API reports it),
and its rolling update has finished. How "finished" is read depends on the
update strategy:

* ``RollingUpdate`` without a partition: ``status.updateRevision`` has
  become ``status.currentRevision``.
* ``RollingUpdate`` with a partition: only ordinals at or above the
  partition are updated by design, so we wait for that many, not for all.
* ``OnDelete``: pods change only when someone deletes them, so there is no
  rollout to wait for; ready replicas are enough.

StatefulSets have no progress deadline, so counts alone never make one
``Degraded``; a stuck pod shows up in that pod's own health.
"""

from __future__ import annotations

from gitward.health._fields import integer, mapping, text, unobserved_rollout
from gitward.health.status import Health
from gitward.objects import Body


def assess(body: Body) -> Health:
    if waiting := unobserved_rollout(body):
        return Health.progressing(waiting)

    spec = mapping(body, "spec")
    status = mapping(body, "status")
    desired = integer(spec, "replicas", default=1)
    ready = integer(status, "readyReplicas")
    if ready < desired:
        return Health.progressing(f"{ready} of {desired} replicas are ready")
    if "availableReplicas" in status:
        available = integer(status, "availableReplicas")
        if available < desired:
            return Health.progressing(f"{available} of {desired} replicas are available")

    strategy = mapping(spec, "updateStrategy")
    if text(strategy, "type") == "OnDelete":
        return Health.healthy("update strategy is OnDelete: pods update when deleted")

    updated = integer(status, "updatedReplicas")
    partition = integer(mapping(strategy, "rollingUpdate"), "partition")
    if partition > 0:
        expected = max(desired - partition, 0)
        if updated < expected:
            return Health.progressing(
                f"{updated} of {expected} replicas above partition are updated"
            )
        return Health.healthy()

    current, update = text(status, "currentRevision"), text(status, "updateRevision")
    if update and current != update:
        return Health.progressing(
            f"{updated} of {desired} replicas are updated to revision {update}"
        )
    return Health.healthy()
