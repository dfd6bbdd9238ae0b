from __future__ import annotations

from gitward.health import HealthStatus, namespace

from ._fixtures import load


def test_active_namespace_is_healthy() -> None:
    assert namespace.assess(load("namespace-active")).status is HealthStatus.HEALTHY


def test_terminating_namespace_is_progressing_with_what_remains() -> None:
    health = namespace.assess(load("namespace-terminating"))
    assert health.status is HealthStatus.PROGRESSING
    assert health.message.startswith("namespace is terminating: ")
    assert "widgets.example.com has 1 resource instances" in health.message
    assert "finalizers remaining: example.com/cleanup" in health.message
    assert "successfully" not in health.message
