from __future__ import annotations

from gitward.health import HealthStatus, service

from ._fixtures import load


def test_cluster_ip_service_is_healthy_once_it_exists() -> None:
    assert service.assess(load("service-clusterip")).status is HealthStatus.HEALTHY


def test_load_balancer_without_address_is_progressing() -> None:
    health = service.assess(load("service-loadbalancer-pending"))
    assert health.status is HealthStatus.PROGRESSING
    assert "load balancer address" in health.message


def test_load_balancer_with_address_is_healthy() -> None:
    assert service.assess(load("service-loadbalancer-ready")).status is HealthStatus.HEALTHY
