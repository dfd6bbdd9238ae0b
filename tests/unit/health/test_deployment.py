from __future__ import annotations

from gitward.health import HealthStatus, deployment

from ._fixtures import load


def test_deployment_with_all_replicas_updated_and_available_is_healthy() -> None:
    assert deployment.assess(load("deployment-healthy")).status is HealthStatus.HEALTHY


def test_deployment_with_unavailable_replicas_is_progressing() -> None:
    health = deployment.assess(load("deployment-progressing"))
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "2 of 3 updated replicas are available"


def test_deployment_mid_rollout_counts_updated_replicas() -> None:
    health = deployment.assess(load("deployment-rolling"))
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "1 of 3 replicas are updated"


def test_deployment_with_old_replicas_left_is_progressing() -> None:
    health = deployment.assess(load("deployment-terminating-old"))
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "1 old replicas are pending termination"


def test_deployment_past_its_progress_deadline_is_degraded() -> None:
    health = deployment.assess(load("deployment-degraded"))
    assert health.status is HealthStatus.DEGRADED
    assert "progress deadline exceeded" in health.message
    assert 'ReplicaSet "web-6b7c9d8e4f" has timed out progressing' in health.message


def test_deployment_with_unobserved_generation_is_progressing() -> None:
    health = deployment.assess(load("deployment-unobserved"))
    assert health.status is HealthStatus.PROGRESSING
    assert "waiting for rollout to be observed" in health.message
    assert "generation 7, observed 6" in health.message


def test_deployment_without_status_yet_is_progressing() -> None:
    body = load("deployment-healthy")
    del body["status"]
    health = deployment.assess(body)
    assert health.status is HealthStatus.PROGRESSING
    assert "waiting for rollout to be observed" in health.message


def test_paused_deployment_is_progressing() -> None:
    health = deployment.assess(load("deployment-paused"))
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "deployment is paused"


def test_deployment_with_replica_failure_is_degraded() -> None:
    health = deployment.assess(load("deployment-replicafailure"))
    assert health.status is HealthStatus.DEGRADED
    assert "FailedCreate" in health.message
    assert "exceeded quota: compute-resources" in health.message


def test_deployment_replicas_default_to_one() -> None:
    body = load("deployment-healthy")
    del body["spec"]["replicas"]
    body["status"].update(replicas=1, updatedReplicas=1, readyReplicas=0, availableReplicas=0)
    health = deployment.assess(body)
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "0 of 1 updated replicas are available"


def test_deployment_scaled_to_zero_is_healthy() -> None:
    body = load("deployment-healthy")
    body["spec"]["replicas"] = 0
    body["status"] = {"observedGeneration": 4}
    assert deployment.assess(body).status is HealthStatus.HEALTHY
