"""Health of a core ``v1`` Service.

Only a ``LoadBalancer`` Service waits on anything outside the API server:
the cloud controller must provision an address and publish it in
``status.loadBalancer.ingress``. Until it does the Service is progressing;
every other type is healthy as soon as it exists.
"""

from __future__ import annotations

from gitward.health._fields import mapping, maps, text
from gitward.health.status import Health
from gitward.objects import Body


def assess(body: Body) -> Health:
    if text(mapping(body, "spec"), "type") != "LoadBalancer":
        return Health.healthy()
    if not maps(mapping(body, "status", "loadBalancer"), "ingress"):
        return Health.progressing("waiting for a load balancer address")
    return Health.healthy()
