"""Health of an ``apiextensions.k8s.io/v1`` CustomResourceDefinition.

A CRD is useful once the API server serves its resource, which the
``Established`` condition says. Objects of that kind cannot be applied
before then, which is why sync order waits on it. ``NamesAccepted`` false
means its names clash with another CRD's and it will never be served, and
``NonStructuralSchema`` true means its schema is refused: both degraded.
"""

from __future__ import annotations

from gitward.health._fields import conditions_of, find, join
from gitward.health.status import Health
from gitward.objects import Body


def assess(body: Body) -> Health:
    conditions = conditions_of(body)
    if names := find(conditions, "NamesAccepted", status=False):
        return Health.degraded(join("names not accepted", names.detail))
    if schema := find(conditions, "NonStructuralSchema", status=True):
        return Health.degraded(join("schema is not structural", schema.detail))
    established = find(conditions, "Established")
    if established is not None and established.is_true:
        return Health.healthy()
    detail = established.detail if established is not None else ""
    return Health.progressing(join("waiting for the API server to establish the resource", detail))
