from __future__ import annotations

import pytest

from gitward.health import HealthStatus, pod

from ._fixtures import load


def test_running_ready_pod_is_healthy() -> None:
    assert pod.assess(load("pod-running")).status is HealthStatus.HEALTHY


def test_running_pod_failing_readiness_is_progressing() -> None:
    health = pod.assess(load("pod-not-ready"))
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "pod is Running: containers with unready status: [web]"


def test_pod_in_imagepullbackoff_is_degraded() -> None:
    health = pod.assess(load("pod-imagepullbackoff"))
    assert health.status is HealthStatus.DEGRADED
    assert health.message == (
        'container web: ImagePullBackOff: Back-off pulling image "ghcr.io/example/web:1.6.0-typo"'
    )


def test_pod_in_crashloopbackoff_names_the_crashing_container() -> None:
    health = pod.assess(load("pod-crashloopbackoff"))
    assert health.status is HealthStatus.DEGRADED
    assert health.message.startswith("container worker: CrashLoopBackOff: back-off 5m0s")


def test_pod_with_missing_secret_is_degraded() -> None:
    health = pod.assess(load("pod-createcontainerconfigerror"))
    assert health.status is HealthStatus.DEGRADED
    assert health.message == (
        'container api: CreateContainerConfigError: secret "api-credentials" not found'
    )


def test_pod_with_crashing_init_container_is_degraded() -> None:
    health = pod.assess(load("pod-init-crashloopbackoff"))
    assert health.status is HealthStatus.DEGRADED
    assert health.message.startswith("container migrate: CrashLoopBackOff")


@pytest.mark.parametrize("reason", ["ErrImagePull", "InvalidImageName"])
def test_pod_with_bad_image_is_degraded(reason: str) -> None:
    body = load("pod-imagepullbackoff")
    waiting = body["status"]["containerStatuses"][0]["state"]["waiting"]
    waiting.update(reason=reason, message="cannot use this image")
    health = pod.assess(body)
    assert health.status is HealthStatus.DEGRADED
    assert health.message == f"container web: {reason}: cannot use this image"


def test_pod_waiting_to_initialize_is_progressing() -> None:
    body = load("pod-init-crashloopbackoff")
    del body["status"]["initContainerStatuses"]
    health = pod.assess(body)
    assert health.status is HealthStatus.PROGRESSING
    assert "Pending" in health.message


def test_unschedulable_pod_is_progressing_with_the_scheduler_reason() -> None:
    health = pod.assess(load("pod-unschedulable"))
    assert health.status is HealthStatus.PROGRESSING
    assert health.message.startswith("pod is not scheduled: Unschedulable: 0/4 nodes are available")
    assert "Insufficient cpu" in health.message


def test_succeeded_pod_is_healthy() -> None:
    assert pod.assess(load("pod-succeeded")).status is HealthStatus.HEALTHY


def test_failed_pod_is_degraded_with_the_failed_container() -> None:
    health = pod.assess(load("pod-failed"))
    assert health.status is HealthStatus.DEGRADED
    assert health.message == "pod failed: container report: OOMKilled (exit code 137)"


def test_evicted_pod_is_degraded_with_the_eviction_reason() -> None:
    health = pod.assess(load("pod-evicted"))
    assert health.status is HealthStatus.DEGRADED
    assert health.message.startswith("pod failed: Evicted: The node was low on resource: memory")


def test_pod_on_a_lost_node_is_unknown() -> None:
    body = load("pod-running")
    body["status"]["phase"] = "Unknown"
    assert pod.assess(body).status is HealthStatus.UNKNOWN


def test_pod_without_status_is_progressing() -> None:
    body = load("pod-running")
    del body["status"]
    health = pod.assess(body)
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "pod is Pending"
