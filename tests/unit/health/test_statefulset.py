from __future__ import annotations

from gitward.health import HealthStatus, statefulset

from ._fixtures import load


def test_statefulset_with_all_replicas_ready_at_one_revision_is_healthy() -> None:
    assert statefulset.assess(load("statefulset-healthy")).status is HealthStatus.HEALTHY


def test_statefulset_with_unready_replicas_is_progressing() -> None:
    health = statefulset.assess(load("statefulset-progressing"))
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "1 of 3 replicas are ready"


def test_statefulset_mid_rolling_update_is_progressing() -> None:
    health = statefulset.assess(load("statefulset-updating"))
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "1 of 3 replicas are updated to revision db-7c9d1e2f3a"


def test_statefulset_with_partition_rolled_out_is_healthy() -> None:
    assert statefulset.assess(load("statefulset-partitioned")).status is HealthStatus.HEALTHY


def test_statefulset_with_partition_still_rolling_is_progressing() -> None:
    body = load("statefulset-partitioned")
    body["status"]["updatedReplicas"] = 0
    health = statefulset.assess(body)
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "0 of 1 replicas above partition are updated"


def test_statefulset_on_delete_does_not_wait_for_revisions() -> None:
    health = statefulset.assess(load("statefulset-ondelete"))
    assert health.status is HealthStatus.HEALTHY
    assert "OnDelete" in health.message


def test_statefulset_with_unavailable_replicas_is_progressing() -> None:
    body = load("statefulset-healthy")
    body["status"]["availableReplicas"] = 2
    health = statefulset.assess(body)
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "2 of 3 replicas are available"


def test_statefulset_with_unobserved_generation_is_progressing() -> None:
    body = load("statefulset-healthy")
    body["metadata"]["generation"] = 3
    health = statefulset.assess(body)
    assert health.status is HealthStatus.PROGRESSING
    assert "waiting for rollout to be observed" in health.message
