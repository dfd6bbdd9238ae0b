from __future__ import annotations

from gitward.health import HealthStatus, daemonset

from ._fixtures import load


def test_daemonset_with_every_pod_updated_and_available_is_healthy() -> None:
    assert daemonset.assess(load("daemonset-healthy")).status is HealthStatus.HEALTHY


def test_daemonset_mid_rollout_is_progressing() -> None:
    health = daemonset.assess(load("daemonset-progressing"))
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "2 of 4 scheduled pods are updated"


def test_daemonset_with_unavailable_pods_is_progressing() -> None:
    health = daemonset.assess(load("daemonset-unavailable"))
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "3 of 4 scheduled pods are available"


def test_daemonset_on_delete_does_not_wait_for_updates() -> None:
    assert daemonset.assess(load("daemonset-ondelete")).status is HealthStatus.HEALTHY


def test_daemonset_with_no_matching_nodes_is_healthy() -> None:
    body = load("daemonset-healthy")
    body["status"] = {"observedGeneration": 3, "desiredNumberScheduled": 0}
    assert daemonset.assess(body).status is HealthStatus.HEALTHY


def test_daemonset_with_unobserved_generation_is_progressing() -> None:
    body = load("daemonset-healthy")
    body["metadata"]["generation"] = 4
    health = daemonset.assess(body)
    assert health.status is HealthStatus.PROGRESSING
    assert "generation 4, observed 3" in health.message
