from __future__ import annotations

import pytest

from gitward.health import HealthStatus, generic

from ._fixtures import load


def test_object_without_status_is_healthy() -> None:
    assert generic.assess(load("configmap")).status is HealthStatus.HEALTHY


def test_ready_custom_resource_is_healthy_with_its_message() -> None:
    health = generic.assess(load("certificate-ready"))
    assert health.status is HealthStatus.HEALTHY
    assert health.message == "Certificate is up to date and has not expired"


def test_custom_resource_not_ready_is_degraded() -> None:
    health = generic.assess(load("certificate-failed"))
    assert health.status is HealthStatus.DEGRADED
    assert health.message.startswith("not ready: Failed: The certificate request has failed")


def test_stalled_custom_resource_is_degraded() -> None:
    health = generic.assess(load("kustomization-stalled"))
    assert health.status is HealthStatus.DEGRADED
    assert health.message.startswith("stalled: BuildFailed: kustomize build failed")


def test_reconciling_custom_resource_is_progressing() -> None:
    health = generic.assess(load("helmrelease-reconciling"))
    assert health.status is HealthStatus.PROGRESSING
    assert "Running 'upgrade' action" in health.message


def test_not_ready_with_a_progress_reason_is_progressing() -> None:
    health = generic.assess(load("gitrepository-progressing"))
    assert health.status is HealthStatus.PROGRESSING
    assert "ProgressingWithRetry" in health.message


def test_ready_unknown_is_progressing() -> None:
    body = load("certificate-ready")
    body["status"]["conditions"][0].update(status="Unknown", reason="Issuing")
    assert generic.assess(body).status is HealthStatus.PROGRESSING


def test_custom_resource_with_unobserved_generation_is_progressing() -> None:
    health = generic.assess(load("widget-unobserved"))
    assert health.status is HealthStatus.PROGRESSING
    assert health.message == "waiting for the controller to observe generation 5 (observed 4)"


def test_missing_observed_generation_is_no_evidence() -> None:
    body = load("widget-unobserved")
    del body["status"]["observedGeneration"]
    assert generic.assess(body).status is HealthStatus.HEALTHY


def test_available_false_counts_when_there_is_no_ready_condition() -> None:
    health = generic.assess(load("widget-available"))
    assert health.status is HealthStatus.DEGRADED
    assert health.message.startswith("not available: BackendUnreachable: dial tcp")


@pytest.mark.parametrize("status", [{}, {"phase": "Active"}, {"conditions": []}])
def test_status_without_known_conditions_is_healthy(status: dict[str, object]) -> None:
    body = load("widget-available")
    body["status"] = status
    assert generic.assess(body).status is HealthStatus.HEALTHY
