from __future__ import annotations

from gitward.health import HealthStatus, hpa

from ._fixtures import load


def test_autoscaler_computing_replicas_is_healthy() -> None:
    assert hpa.assess(load("hpa-healthy")).status is HealthStatus.HEALTHY


def test_autoscaler_without_metrics_is_degraded() -> None:
    health = hpa.assess(load("hpa-failed-metrics"))
    assert health.status is HealthStatus.DEGRADED
    assert "FailedGetResourceMetric" in health.message
    assert "pods.metrics.k8s.io" in health.message


def test_autoscaler_unable_to_scale_is_degraded() -> None:
    health = hpa.assess(load("hpa-unable-to-scale"))
    assert health.status is HealthStatus.DEGRADED
    assert health.message.startswith("unable to scale: FailedGetScale")


def test_autoscaler_on_target_scaled_to_zero_is_healthy() -> None:
    health = hpa.assess(load("hpa-scaling-disabled"))
    assert health.status is HealthStatus.HEALTHY
    assert "ScalingDisabled" in health.message


def test_autoscaler_yet_to_report_is_progressing() -> None:
    health = hpa.assess(load("hpa-new"))
    assert health.status is HealthStatus.PROGRESSING
    assert "waiting for the autoscaler" in health.message


def test_v1_autoscaler_conditions_are_read_from_the_annotation() -> None:
    health = hpa.assess(load("hpa-v1-failed-metrics"))
    assert health.status is HealthStatus.DEGRADED
    assert "missing request for cpu in container api" in health.message


def test_v1_autoscaler_with_unreadable_annotation_is_progressing() -> None:
    body = load("hpa-v1-failed-metrics")
    body["metadata"]["annotations"][hpa.V1_CONDITIONS_ANNOTATION] = "{not json"
    assert hpa.assess(body).status is HealthStatus.PROGRESSING
