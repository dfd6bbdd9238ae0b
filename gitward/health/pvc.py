"""Health of a core ``v1`` PersistentVolumeClaim.

The claim's phase says it all: ``Bound`` is healthy, ``Lost`` (its volume
is gone) is degraded, and ``Pending`` is progressing. Note that a claim on
a ``WaitForFirstConsumer`` storage class stays ``Pending`` until a pod
uses it; it will read as progressing until that pod is scheduled.
"""

from __future__ import annotations

from gitward.health._fields import mapping, text
from gitward.health.status import Health
from gitward.objects import Body


def assess(body: Body) -> Health:
    phase = text(mapping(body, "status"), "phase")
    if phase == "Bound":
        return Health.healthy()
    if phase == "Lost":
        return Health.degraded("claim lost its bound volume")
    return Health.progressing(f"claim is {phase or 'Pending'}: waiting for a volume to be bound")
