"""Health of an ``autoscaling`` HorizontalPodAutoscaler (v1 or v2).

The autoscaler reports through conditions: ``AbleToScale`` false means it
cannot read or change its target's scale, and ``ScalingActive`` false with
a failure reason (``FailedGetResourceMetric``, ``InvalidSelector``, ...)
means it cannot compute a replica count; both are degraded, since the
workload is no longer being autoscaled. ``ScalingActive`` false with
``ScalingDisabled`` is a choice (the target was scaled to zero) and is
healthy.

Until the autoscaler has reported any condition it has not yet looked at
its target, so it is progressing; this catches a missing metrics source a
few seconds after apply instead of calling the autoscaler healthy blind.

``autoscaling/v1`` has no conditions field; the API server carries them in
an annotation as JSON, which is read instead.
"""

from __future__ import annotations

import json

from gitward.health._fields import (
    Condition,
    conditions_of,
    find,
    generation_lag,
    join,
    mapping,
    text,
)
from gitward.health.status import Health
from gitward.objects import Body

#: Where ``autoscaling/v1`` objects carry the v2 conditions.
V1_CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"


def assess(body: Body) -> Health:
    if generation_lag(body, strict=False) is not None:
        return Health.progressing("waiting for the autoscaler to observe the latest spec")
    conditions = conditions_of(body) or _v1_conditions(body)
    if not conditions:
        return Health.progressing("waiting for the autoscaler to report")

    if able := find(conditions, "AbleToScale", status=False):
        return Health.degraded(join("unable to scale", able.detail))
    if active := find(conditions, "ScalingActive", status=False):
        if active.reason.startswith(("Failed", "Invalid")):
            return Health.degraded(join("scaling is not active", active.detail))
        return Health.healthy(join("scaling is not active", active.detail))
    return Health.healthy()


def _v1_conditions(body: Body) -> tuple[Condition, ...]:
    raw = text(mapping(body, "metadata", "annotations"), V1_CONDITIONS_ANNOTATION)
    if not raw:
        return ()
    try:
        parsed = json.loads(raw)
    except ValueError:
        return ()
    if not isinstance(parsed, list):
        return ()
    return tuple(Condition.of(item) for item in parsed if isinstance(item, dict))
