"""One sort key decides the order of a sync: (phase, stage, wave, kind, namespace, name).

* phase: hooks that run before the objects (Helm ``pre-*``, Argo ``PreSync``),
  then the objects and Argo ``Sync`` hooks, then the hooks after them.
* stage: CustomResourceDefinitions, then Namespaces, then everything else, so a
  custom resource never races its definition and no object races its namespace.
* wave: ``gitward.io/sync-wave`` or ``argocd.argoproj.io/sync-wave`` (an
  integer, default 0); for Helm hooks ``helm.sh/hook-weight`` (see
  :mod:`gitward.plan.annotations`).
* kind: the order Helm installs kinds in (config before the workloads using it).

Pruning walks the same key backwards.
"""

from __future__ import annotations

from typing import NamedTuple

from gitward.objects import Manifest, ObjectRef
from gitward.plan.annotations import Directives, InvalidAnnotation, Phase, read


class SortKey(NamedTuple):
    """The one key a sync is ordered by; prune walks it backwards."""

    phase: int  # pre-sync hooks, the objects, post-sync hooks
    stage: int  # CustomResourceDefinitions, then Namespaces, then the rest
    wave: int
    kind_rank: int  # Helm's install order of kinds
    kind: str
    namespace: str
    name: str


_KIND_ORDER = [
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
]
_KIND_RANK = {k: i for i, k in enumerate(_KIND_ORDER)}


def phase_of(m: Manifest) -> Phase:
    return read(m).phase


def stage_of(kind: str) -> int:
    if kind == "CustomResourceDefinition":
        return 0
    if kind == "Namespace":
        return 1
    return 2


def wave_of(m: Manifest) -> int:
    return read(m).wave


def key_of(ref: ObjectRef, directives: Directives) -> SortKey:
    """The sort key of an object whose directives are already read."""
    return SortKey(
        phase=directives.phase,
        stage=stage_of(ref.kind),
        wave=directives.wave,
        kind_rank=_KIND_RANK.get(ref.kind, len(_KIND_ORDER)),
        kind=ref.kind,
        namespace=ref.namespace,
        name=ref.name,
    )


def sort_key(m: Manifest) -> SortKey:
    """Raises :class:`InvalidAnnotation` when ``m``'s annotations cannot be honoured."""
    return key_of(m.ref, read(m))


__all__ = [
    "InvalidAnnotation",
    "Phase",
    "SortKey",
    "key_of",
    "phase_of",
    "sort_key",
    "stage_of",
    "wave_of",
]
