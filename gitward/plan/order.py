"""One sort key decides the order of a sync: (phase, stage, wave, kind, namespace, name).

* phase: Helm ``pre-*`` hooks, then the objects, then ``post-*`` hooks.
* stage: CustomResourceDefinitions, then Namespaces, then everything else, so a
  custom resource never races its definition and no object races its namespace.
* wave: ``gitward.io/sync-wave`` (an integer, default 0); for hooks
  ``helm.sh/hook-weight`` when no wave is set.
* kind: the order Helm installs kinds in (config before the workloads using it).

Pruning walks the same key backwards.
"""

from __future__ import annotations

from enum import IntEnum

from gitward.objects import Manifest

WAVE_ANNOTATION = "gitward.io/sync-wave"
HOOK_ANNOTATION = "helm.sh/hook"
HOOK_WEIGHT_ANNOTATION = "helm.sh/hook-weight"
HOOK_DELETE_POLICY_ANNOTATION = "helm.sh/hook-delete-policy"


class Phase(IntEnum):
    PRE_SYNC = 0
    SYNC = 1
    POST_SYNC = 2


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


class InvalidAnnotation(ValueError):
    pass


def hook_events(m: Manifest) -> frozenset[str]:
    raw = m.annotations.get(HOOK_ANNOTATION, "")
    return frozenset(h.strip() for h in raw.split(",") if h.strip())


def phase_of(m: Manifest) -> Phase:
    events = hook_events(m)
    if not events:
        return Phase.SYNC
    if events & {"pre-install", "pre-upgrade"}:
        return Phase.PRE_SYNC
    return Phase.POST_SYNC


def stage_of(kind: str) -> int:
    if kind == "CustomResourceDefinition":
        return 0
    if kind == "Namespace":
        return 1
    return 2


def wave_of(m: Manifest) -> int:
    ann = m.annotations
    raw = ann.get(WAVE_ANNOTATION)
    if raw is None and hook_events(m):
        raw = ann.get(HOOK_WEIGHT_ANNOTATION)
    if raw is None:
        return 0
    try:
        return int(str(raw).strip())
    except ValueError as e:
        raise InvalidAnnotation(
            f"{m.ref} ({m.source}): {WAVE_ANNOTATION} {raw!r} is not an integer"
        ) from e


def sort_key(m: Manifest) -> tuple[int, int, int, int, str, str, str]:
    ref = m.ref
    return (
        phase_of(m),
        stage_of(ref.kind),
        wave_of(m),
        _KIND_RANK.get(ref.kind, len(_KIND_ORDER)),
        ref.kind,
        ref.namespace,
        ref.name,
    )
