"""Health of an ``apps/v1`` DaemonSet.

A DaemonSet wants one pod on every node that matches it
(``status.desiredNumberScheduled``). It is healthy when its controller has
seen the latest spec, all those pods run the latest template and all are
available. With the ``OnDelete`` strategy pods change only when deleted, so
only availability is waited for. Zero matching nodes is healthy: there is
nothing to run.
"""

from __future__ import annotations

from gitward.health._fields import integer, mapping, text, unobserved_rollout
from gitward.health.status import Health
from gitward.objects import Body


def assess(body: Body) -> Health:
    if waiting := unobserved_rollout(body):
        return Health.progressing(waiting)

    status = mapping(body, "status")
    desired = integer(status, "desiredNumberScheduled")
    strategy = text(mapping(body, "spec", "updateStrategy"), "type")
    if strategy != "OnDelete":
        updated = integer(status, "updatedNumberScheduled")
        if updated < desired:
            return Health.progressing(f"{updated} of {desired} scheduled pods are updated")
    available = integer(status, "numberAvailable")
    if available < desired:
        return Health.progressing(f"{available} of {desired} scheduled pods are available")
    return Health.healthy()
