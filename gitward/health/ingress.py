"""Health of a ``networking.k8s.io/v1`` Ingress.

An Ingress is useful once its controller has taken it and published an
address in ``status.loadBalancer.ingress``; until then it is progressing.
Caveat, accepted on purpose: a controller that never publishes addresses
(some run without a published Service) leaves its Ingresses progressing
for good. Argo CD judges Ingresses the same way.
"""

from __future__ import annotations

from gitward.health._fields import mapping, maps
from gitward.health.status import Health
from gitward.objects import Body


def assess(body: Body) -> Health:
    if not maps(mapping(body, "status", "loadBalancer"), "ingress"):
        return Health.progressing("waiting for the ingress controller to publish an address")
    return Health.healthy()
