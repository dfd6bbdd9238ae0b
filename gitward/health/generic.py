"""Health of any kind without a module of its own, custom resources included.

Most controllers outside the core follow the Kubernetes API conventions
(and the kstatus reading of them): they report ``status.observedGeneration``
and a few well-known conditions. This module reads only those, in order of
how decisive they are:

1. ``observedGeneration`` behind ``metadata.generation``: the controller
   has not seen the latest spec, so nothing else in ``status`` is current.
2. ``Stalled`` true: the controller says it has given up. Degraded.
3. ``Reconciling`` true: the controller says it is working. Progressing.
4. ``Ready`` (else ``Available``): true is healthy, unknown is progressing,
   false is degraded, unless its reason names work under way
   (``Progressing``, ``Reconciling``, ...), as Flux and others report
   while they reconcile.

An object with no status, or with none of these conditions, is healthy:
ConfigMaps, Secrets, RBAC and the like have nothing to wait for once they
exist, and a controller that reports nothing gives us nothing to wait on.
"""

from __future__ import annotations

from gitward.health._fields import Condition, conditions_of, find, generation_lag, join
from gitward.health.status import Health
from gitward.objects import Body

#: Substrings of a false ``Ready`` reason that mean "not yet", not "failed".
PROGRESS_MARKERS = ("Progressing", "Reconciling", "InProgress", "Pending", "Waiting")


def assess(body: Body) -> Health:
    lag = generation_lag(body, strict=False)
    if lag is not None:
        generation, observed = lag
        return Health.progressing(
            f"waiting for the controller to observe generation {generation} (observed {observed})"
        )

    conditions = conditions_of(body)
    if stalled := find(conditions, "Stalled", status=True):
        return Health.degraded(join("stalled", stalled.detail))
    if reconciling := find(conditions, "Reconciling", status=True):
        return Health.progressing(join("reconciling", reconciling.detail))

    ready = find(conditions, "Ready") or find(conditions, "Available")
    if ready is None:
        return Health.healthy()
    return _judge(ready)


def _judge(ready: Condition) -> Health:
    if ready.is_true:
        return Health.healthy(ready.message)
    if ready.is_false and not any(marker in ready.reason for marker in PROGRESS_MARKERS):
        return Health.degraded(join(f"not {ready.type.lower()}", ready.detail))
    return Health.progressing(join(f"not yet {ready.type.lower()}", ready.detail))
