"""Health of a ``batch/v1`` Job.

A Job is a promise to finish, so it is judged by how it ended: the
``Complete`` condition is healthy, ``Failed`` is degraded with the
controller's message (backoff limit, deadline). Since Kubernetes 1.31 the
controller first sets ``FailureTarget`` while it cleans up, which is
already final, so it is degraded too. A suspended Job will not run until
resumed and stays progressing, like a paused Deployment. Everything else is
still running.
"""

from __future__ import annotations

from gitward.health._fields import conditions_of, find, integer, join, mapping
from gitward.health.status import Health
from gitward.objects import Body


def assess(body: Body) -> Health:
    conditions = conditions_of(body)
    for kind in ("Failed", "FailureTarget"):
        if failed := find(conditions, kind, status=True):
            return Health.degraded(join("job failed", failed.detail))
    if find(conditions, "Complete", status=True):
        return Health.healthy("job completed")
    if find(conditions, "Suspended", status=True):
        return Health.progressing("job is suspended")

    status = mapping(body, "status")
    counts = ", ".join(f"{integer(status, key)} {key}" for key in ("active", "succeeded", "failed"))
    return Health.progressing(f"job is running ({counts})")
