"""Which API groups are built into Kubernetes, and which versions it has removed.

An object whose kind the server does not serve is either a custom resource
whose CRD is missing, or a built-in kind under a version a newer Kubernetes
removed (``extensions/v1beta1`` Deployments, say). The two need different
advice; this table tells them apart.
"""

from __future__ import annotations

BUILT_IN_GROUPS = frozenset(
    {
        "",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "apps",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "extensions",
        "flowcontrol.apiserver.k8s.io",
        "internal.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "storagemigration.k8s.io",
    }
)

# (apiVersion, kind or "*") -> (removed in, replacement apiVersion or "" when none)
_REMOVED: dict[tuple[str, str], tuple[str, str]] = {
    ("extensions/v1beta1", "Deployment"): ("1.16", "apps/v1"),
    ("extensions/v1beta1", "DaemonSet"): ("1.16", "apps/v1"),
    ("extensions/v1beta1", "ReplicaSet"): ("1.16", "apps/v1"),
    ("extensions/v1beta1", "NetworkPolicy"): ("1.16", "networking.k8s.io/v1"),
    ("extensions/v1beta1", "PodSecurityPolicy"): ("1.16", "policy/v1beta1, itself removed in 1.25"),
    ("extensions/v1beta1", "Ingress"): ("1.22", "networking.k8s.io/v1"),
    ("apps/v1beta1", "*"): ("1.16", "apps/v1"),
    ("apps/v1beta2", "*"): ("1.16", "apps/v1"),
    ("networking.k8s.io/v1beta1", "*"): ("1.22", "networking.k8s.io/v1"),
    ("rbac.authorization.k8s.io/v1beta1", "*"): ("1.22", "rbac.authorization.k8s.io/v1"),
    ("apiextensions.k8s.io/v1beta1", "*"): ("1.22", "apiextensions.k8s.io/v1"),
    ("admissionregistration.k8s.io/v1beta1", "*"): ("1.22", "admissionregistration.k8s.io/v1"),
    ("apiregistration.k8s.io/v1beta1", "*"): ("1.22", "apiregistration.k8s.io/v1"),
    ("certificates.k8s.io/v1beta1", "*"): ("1.22", "certificates.k8s.io/v1"),
    ("coordination.k8s.io/v1beta1", "*"): ("1.22", "coordination.k8s.io/v1"),
    ("scheduling.k8s.io/v1beta1", "*"): ("1.22", "scheduling.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"): ("1.27", "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", "*"): ("1.22", "storage.k8s.io/v1"),
    ("batch/v1beta1", "CronJob"): ("1.25", "batch/v1"),
    ("policy/v1beta1", "PodDisruptionBudget"): ("1.25", "policy/v1"),
    ("policy/v1beta1", "PodSecurityPolicy"): ("1.25", ""),
    ("discovery.k8s.io/v1beta1", "*"): ("1.25", "discovery.k8s.io/v1"),
    ("events.k8s.io/v1beta1", "*"): ("1.25", "events.k8s.io/v1"),
    ("node.k8s.io/v1beta1", "*"): ("1.25", "node.k8s.io/v1"),
    ("autoscaling/v2beta1", "*"): ("1.25", "autoscaling/v2"),
    ("autoscaling/v2beta2", "*"): ("1.26", "autoscaling/v2"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", "*"): ("1.26", "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "*"): ("1.29", "flowcontrol.apiserver.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "*"): ("1.32", "flowcontrol.apiserver.k8s.io/v1"),
}


def unserved_advice(api_version: str, kind: str) -> str:
    """What to tell a user whose ``kind`` in ``api_version`` the server does not serve."""
    removed = _REMOVED.get((api_version, kind)) or _REMOVED.get((api_version, "*"))
    if removed is not None:
        release, replacement = removed
        use = f"; use {replacement}" if replacement else "; it has no replacement"
        return f"{api_version} {kind} was removed in Kubernetes {release}{use}"
    group = api_version.split("/", 1)[0] if "/" in api_version else ""
    if group in BUILT_IN_GROUPS:
        return (
            f"the server has no kind {kind} in {api_version}: "
            "check the kind and version against this cluster's Kubernetes"
        )
    return f"the server has no kind {kind} in {api_version}; is its CRD installed?"
