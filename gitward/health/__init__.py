"""How healthy the objects of an app are, read from their live bodies.

Everything here is a pure function of raw objects as the API server returns
them: no I/O, so the same rules serve a one-off ``status``, a wait after
apply and the self-heal loop, and tests need no cluster.

:func:`assess` picks a judge by (API group, kind): one small module per
built-in kind whose status needs reading, and :mod:`~gitward.health.generic`
(the conventional conditions) for everything else. Two rules come first
because they hold for every kind: an absent object is ``Missing``, and an
object being deleted is ``Progressing`` whatever else it reports.

A body we cannot make sense of is ``Unknown``, not an exception: a failed
judgement is a result like any other, and ``Unknown`` is the worst status,
so it is never mistaken for success.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import reduce

from gitward.health import (
    crd,
    daemonset,
    deployment,
    generic,
    hpa,
    ingress,
    job,
    namespace,
    pod,
    pvc,
    replicaset,
    service,
    statefulset,
)
from gitward.health._fields import join, mapping
from gitward.health.status import Health, HealthStatus, worse
from gitward.objects import Body, group_of

__all__ = ["Health", "HealthStatus", "aggregate", "assess", "worse"]

Assess = Callable[[Body], Health]

#: The judge for each (API group, kind); anything else goes to ``generic``.
ASSESSORS: Mapping[tuple[str, str], Assess] = {
    ("apps", "DaemonSet"): daemonset.assess,
    ("apps", "Deployment"): deployment.assess,
    ("apps", "ReplicaSet"): replicaset.assess,
    ("apps", "StatefulSet"): statefulset.assess,
    ("batch", "Job"): job.assess,
    ("", "Namespace"): namespace.assess,
    ("", "PersistentVolumeClaim"): pvc.assess,
    ("", "Pod"): pod.assess,
    ("", "Service"): service.assess,
    ("networking.k8s.io", "Ingress"): ingress.assess,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): crd.assess,
    ("autoscaling", "HorizontalPodAutoscaler"): hpa.assess,
}


def assess(body: Body | None) -> Health:
    """The health of one live object; ``None`` means it does not exist."""
    if body is None:
        return Health.missing()
    judge = ASSESSORS.get(
        (group_of(str(body.get("apiVersion", ""))), str(body.get("kind", ""))), generic.assess
    )
    try:
        health = judge(body)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        return Health.unknown(f"cannot read status: {error}")
    meta = mapping(body, "metadata")
    if not meta.get("deletionTimestamp"):
        return health
    finalizers = [f for f in meta.get("finalizers") or [] if isinstance(f, str)]
    waiting = f"waiting for finalizers {', '.join(finalizers)}" if finalizers else ""
    detail = health.message if health.status is not HealthStatus.HEALTHY else ""
    return Health.progressing(join("being deleted", waiting, detail, sep="; "))


def aggregate(healths: Iterable[Health]) -> Health:
    """The worst of ``healths`` with its message; healthy when there are none."""
    return reduce(Health.worse, healths, Health.healthy())
