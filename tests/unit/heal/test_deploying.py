"""gitward/deploy/<app>: pending, then success once Healthy or failure with the reason."""

from __future__ import annotations

import asyncio

from gitward.config.apps import AppSpec
from gitward.heal.deploying import DeployReporter
from gitward.health import Health, HealthStatus
from gitward.kube import Kube
from tests.unit.fakecluster import server
from tests.unit.forge.fakeforge import FakeForge

APP = AppSpec(name="shop", path="apps/shop", namespace="shop", environment="prod")
SHA = "a" * 40


def deploy(
    healths: list[HealthStatus], *, failed_because: str = "", timeout: float = 5.0
) -> list[str]:
    forge = FakeForge()
    seen = iter(healths)
    last = {"status": healths[0]}

    def health_of(app: str) -> Health:
        last["status"] = next(seen, last["status"])
        return Health(
            last["status"], "web: 0/2 ready" if last["status"] is not HealthStatus.HEALTHY else ""
        )

    async def go(kube: Kube) -> None:
        reporter = DeployReporter(
            kube=kube,
            forge=forge,
            health_of=health_of,
            target_url=lambda app: f"http://127.0.0.1:8080/api/v1/apps/{app}",
            timeout=timeout,
            poll_seconds=0.01,
        )
        await reporter.applying(APP, SHA)
        reporter.applied(APP, SHA, failed_because=failed_because)
        await reporter.settled()

    srv = server()

    async def main() -> None:
        async with srv.kube() as kube:
            await go(kube)

    asyncio.run(main())
    return [f"{s.state.value}: {s.description} {s.target_url}" for s in forge.status_list[SHA]]


URL = "http://127.0.0.1:8080/api/v1/apps/shop"


def test_success_once_every_object_is_healthy() -> None:
    assert deploy([HealthStatus.PROGRESSING, HealthStatus.PROGRESSING, HealthStatus.HEALTHY]) == [
        f"pending: applying {URL}",
        f"success: Healthy {URL}",
    ]


def test_a_degraded_object_fails_the_deploy_with_the_reason() -> None:
    assert deploy([HealthStatus.PROGRESSING, HealthStatus.DEGRADED])[-1] == (
        f"failure: Degraded: web: 0/2 ready {URL}"
    )


def test_a_failed_sync_fails_the_deploy_with_its_reason() -> None:
    out = deploy([HealthStatus.HEALTHY], failed_because="app shop: Deployment/web: apply refused")
    assert out[-1] == f"failure: app shop: Deployment/web: apply refused {URL}"


def test_health_that_does_not_come_in_time_fails_the_deploy() -> None:
    out = deploy([HealthStatus.PROGRESSING], timeout=0.05)
    assert out[-1] == f"failure: not Healthy within 0.05s (Progressing) {URL}"
