from __future__ import annotations

from gitward.health import HealthStatus, crd

from ._fixtures import load


def test_established_crd_is_healthy() -> None:
    assert crd.assess(load("crd-established")).status is HealthStatus.HEALTHY


def test_crd_not_yet_established_is_progressing() -> None:
    health = crd.assess(load("crd-progressing"))
    assert health.status is HealthStatus.PROGRESSING
    assert "establish" in health.message


def test_crd_with_conflicting_names_is_degraded() -> None:
    health = crd.assess(load("crd-names-conflict"))
    assert health.status is HealthStatus.DEGRADED
    assert health.message == 'names not accepted: ShortNamesConflict: "wd" is already in use'


def test_crd_with_non_structural_schema_is_degraded() -> None:
    body = load("crd-established")
    body["status"]["conditions"].append(
        {
            "type": "NonStructuralSchema",
            "status": "True",
            "reason": "Violations",
            "message": "spec.versions[0].schema.openAPIV3Schema.type: Required value",
        }
    )
    health = crd.assess(body)
    assert health.status is HealthStatus.DEGRADED
    assert "type: Required value" in health.message
