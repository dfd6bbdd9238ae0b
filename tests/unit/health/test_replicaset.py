from __future__ import annotations

from gitward.health import HealthStatus, replicaset

from ._fixtures import load


def test_replicaset_with_all_replicas_available_is_healthy() -> None:
    assert replicaset.assess(load("replicaset-healthy")).status is HealthStatus.HEALTHY


def test_replicaset_with_unavailable_replicas_is_progressing() -> None:
    health = replicaset.assess(load("replicaset-progressing"))
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "1 of 3 replicas are available"


def test_replicaset_refused_by_admission_is_degraded() -> None:
    health = replicaset.assess(load("replicaset-failure"))
    assert health.status is HealthStatus.DEGRADED
    assert "FailedCreate" in health.message
    assert 'violates PodSecurity "restricted:latest"' in health.message


def test_replicaset_scaling_down_is_progressing() -> None:
    body = load("replicaset-healthy")
    body["spec"]["replicas"] = 1
    health = replicaset.assess(body)
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "2 surplus replicas are pending termination"


def test_replicaset_with_unobserved_generation_is_progressing() -> None:
    body = load("replicaset-healthy")
    body["metadata"]["generation"] = 3
    health = replicaset.assess(body)
    assert health.status is HealthStatus.PROGRESSING
    assert "waiting for rollout to be observed" in health.message
