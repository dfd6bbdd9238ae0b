from __future__ import annotations

from gitward.health import HealthStatus, ingress

from ._fixtures import load


def test_ingress_with_published_address_is_healthy() -> None:
    assert ingress.assess(load("ingress-healthy")).status is HealthStatus.HEALTHY


def test_ingress_without_address_is_progressing() -> None:
    health = ingress.assess(load("ingress-progressing"))
    assert health.status is HealthStatus.PROGRESSING
    assert "publish an address" in health.message


def test_ingress_without_status_is_progressing() -> None:
    body = load("ingress-progressing")
    del body["status"]
    assert ingress.assess(body).status is HealthStatus.PROGRESSING
