from __future__ import annotations

from gitward.health import HealthStatus, pvc

from ._fixtures import load


def test_bound_claim_is_healthy() -> None:
    assert pvc.assess(load("pvc-bound")).status is HealthStatus.HEALTHY


def test_pending_claim_is_progressing() -> None:
    health = pvc.assess(load("pvc-pending"))
    assert health.status is HealthStatus.PROGRESSING
    assert "waiting for a volume to be bound" in health.message


def test_lost_claim_is_degraded() -> None:
    health = pvc.assess(load("pvc-lost"))
    assert health.status is HealthStatus.DEGRADED
    assert "lost" in health.message
