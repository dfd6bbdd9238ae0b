"""The operator's policy applied to a plan: objects an app may not deploy are plan errors.

RBAC on an app's ServiceAccount already limits what the server lets it do;
the policy is the operator's second word, in terms of the app rather than the
account (Argo CD's AppProject ``destinations`` and ``clusterResourceWhitelist``):
which namespaces the app may deploy to, and which cluster-scoped kinds it may
create. A refused object stops the whole sync before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable

from gitward.config.apps import AppSpec
from gitward.config.tenancy import Policy
from gitward.objects import ObjectRef
from gitward.plan.model import ObjectError


def refusals(
    policy: Policy, *, app: AppSpec, objects: Iterable[tuple[ObjectRef, str]]
) -> list[ObjectError]:
    """One error per (object, source) that ``policy`` does not allow for ``app``.

    Refs must be resolved: a cluster-scoped object has no namespace and a
    namespaced one has its final namespace (the planner's prepared objects).
    """
    rules = policy.rules_for(app.name)
    out: list[ObjectError] = []
    for ref, source in objects:
        if ref.namespace:
            if rules.allows_namespace(ref.namespace, app_namespace=app.namespace):
                continue
            why = f"namespace {ref.namespace} is not allowed"
        else:
            if rules.allows_cluster_resource(group=ref.group, kind=ref.kind):
                continue
            why = f"cluster-scoped kind {ref.group_kind} is not allowed"
        out.append(ObjectError(ref, source, f"{why} for app {app.name} by policy {policy.source}"))
    return out


__all__ = ["refusals"]
