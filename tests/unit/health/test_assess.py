from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pytest

from gitward.health import ASSESSORS, Health, HealthStatus, assess
from gitward.objects import Body

from ._fixtures import FIXTURES, load

HEALTHY = HealthStatus.HEALTHY
PROGRESSING = HealthStatus.PROGRESSING
DEGRADED = HealthStatus.DEGRADED
UNKNOWN = HealthStatus.UNKNOWN

#: Every fixture and the status ``assess`` gives it, through dispatch.
EXPECTED = {
    "certificate-failed": DEGRADED,
    "certificate-ready": HEALTHY,
    "configmap": HEALTHY,
    "crd-established": HEALTHY,
    "crd-names-conflict": DEGRADED,
    "crd-progressing": PROGRESSING,
    "daemonset-healthy": HEALTHY,
    "daemonset-ondelete": HEALTHY,
    "daemonset-progressing": PROGRESSING,
    "daemonset-unavailable": PROGRESSING,
    "deployment-degraded": DEGRADED,
    "deployment-deleting": PROGRESSING,
    "deployment-healthy": HEALTHY,
    "deployment-paused": PROGRESSING,
    "deployment-progressing": PROGRESSING,
    "deployment-replicafailure": DEGRADED,
    "deployment-rolling": PROGRESSING,
    "deployment-terminating-old": PROGRESSING,
    "deployment-unobserved": PROGRESSING,
    "gitrepository-progressing": PROGRESSING,
    "helmrelease-reconciling": PROGRESSING,
    "hpa-failed-metrics": DEGRADED,
    "hpa-healthy": HEALTHY,
    "hpa-new": PROGRESSING,
    "hpa-scaling-disabled": HEALTHY,
    "hpa-unable-to-scale": DEGRADED,
    "hpa-v1-failed-metrics": DEGRADED,
    "ingress-healthy": HEALTHY,
    "ingress-progressing": PROGRESSING,
    "job-complete": HEALTHY,
    "job-failed": DEGRADED,
    "job-running": PROGRESSING,
    "job-suspended": PROGRESSING,
    "kustomization-stalled": DEGRADED,
    "namespace-active": HEALTHY,
    "namespace-terminating": PROGRESSING,
    "pod-crashloopbackoff": DEGRADED,
    "pod-createcontainerconfigerror": DEGRADED,
    "pod-evicted": DEGRADED,
    "pod-failed": DEGRADED,
    "pod-imagepullbackoff": DEGRADED,
    "pod-init-crashloopbackoff": DEGRADED,
    "pod-not-ready": PROGRESSING,
    "pod-running": HEALTHY,
    "pod-succeeded": HEALTHY,
    "pod-unschedulable": PROGRESSING,
    "pvc-bound": HEALTHY,
    "pvc-lost": DEGRADED,
    "pvc-pending": PROGRESSING,
    "replicaset-failure": DEGRADED,
    "replicaset-healthy": HEALTHY,
    "replicaset-progressing": PROGRESSING,
    "service-clusterip": HEALTHY,
    "service-loadbalancer-pending": PROGRESSING,
    "service-loadbalancer-ready": HEALTHY,
    "statefulset-healthy": HEALTHY,
    "statefulset-ondelete": HEALTHY,
    "statefulset-partitioned": HEALTHY,
    "statefulset-progressing": PROGRESSING,
    "statefulset-updating": PROGRESSING,
    "widget-available": DEGRADED,
    "widget-unobserved": PROGRESSING,
}


def test_every_fixture_has_an_expected_status() -> None:
    assert sorted(p.stem for p in FIXTURES.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize(("name", "status"), sorted(EXPECTED.items()))
def test_assess_dispatches_each_fixture_to_its_status(name: str, status: HealthStatus) -> None:
    health = assess(load(name))
    assert health.status is status, health.message
    if status is not HEALTHY:
        assert health.message, f"{name}: a {status} health must say why"


def test_absent_object_is_missing() -> None:
    assert assess(None) == Health(HealthStatus.MISSING, "not found in the cluster")


def test_deleting_object_is_progressing_and_names_its_finalizers() -> None:
    health = assess(load("deployment-deleting"))
    assert health.status is PROGRESSING
    assert health.message == "being deleted; waiting for finalizers foregroundDeletion"


def test_deleting_object_keeps_what_its_kind_says_is_pending() -> None:
    health = assess(load("namespace-terminating"))
    assert health.status is PROGRESSING
    assert health.message.startswith("being deleted; namespace is terminating: ")
    assert "widgets.example.com has 1 resource instances" in health.message


def test_deleting_degraded_object_is_progressing() -> None:
    body = load("pod-crashloopbackoff")
    body["metadata"]["deletionTimestamp"] = "2024-11-08T12:00:00Z"
    health = assess(body)
    assert health.status is PROGRESSING
    assert health.message.startswith("being deleted; container worker: CrashLoopBackOff")


def test_plain_objects_are_healthy_when_they_exist() -> None:
    for kind, api_version in [
        ("Secret", "v1"),
        ("ServiceAccount", "v1"),
        ("Role", "rbac.authorization.k8s.io/v1"),
        ("ClusterRoleBinding", "rbac.authorization.k8s.io/v1"),
    ]:
        body = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}}
        assert assess(body).status is HEALTHY, kind


def test_kind_in_another_group_is_judged_generically() -> None:
    body = load("deployment-progressing")
    body["apiVersion"] = "example.com/v1"
    assert assess(body).status is HEALTHY


def test_core_pod_rule_is_chosen_by_group_and_kind() -> None:
    health = assess(load("pod-imagepullbackoff"))
    assert health.status is DEGRADED
    assert health.message.startswith("container web: ImagePullBackOff")


@pytest.mark.parametrize(
    "status",
    ["Running", ["Running"], {"conditions": "Ready"}, {"conditions": [None, 3]}],
)
def test_malformed_status_never_raises(status: object) -> None:
    body = load("pod-running")
    body["status"] = status
    health = assess(body)
    assert health.status in {PROGRESSING, UNKNOWN}


def test_malformed_counts_read_as_zero() -> None:
    body = load("deployment-healthy")
    body["status"]["availableReplicas"] = "three"
    health = assess(body)
    assert health.status is PROGRESSING
    assert health.message == "0 of 3 updated replicas are available"


def test_judge_that_fails_gives_unknown_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(body: Body) -> Health:
        raise TypeError("unsupported operand type(s)")

    assessors = cast("dict[tuple[str, str], Callable[[Body], Health]]", ASSESSORS)
    monkeypatch.setitem(assessors, ("", "Pod"), broken)
    health = assess(load("pod-running"))
    assert health.status is UNKNOWN
    assert health.message == "cannot read status: unsupported operand type(s)"
