"""What the controller tells its API: roles, readiness and failures, without a cluster."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from gitward.api.protocols import SourceError
from gitward.api.webhooks import WebhookEvent
from gitward.config.apps import AppSpec, RepoConfig
from gitward.heal import statuses
from gitward.heal.controller import Controller, ControllerOptions
from gitward.heal.state import AppState, Tracked
from gitward.heal.statuses import RECONCILE_LOOP, ControllerStatus
from gitward.heal.supervise import Supervisor
from gitward.health import Health, assess
from gitward.kube import Kube, KubeConfig
from gitward.objects import Body, ObjectRef
from gitward.source import GitSource
from gitward.status import SyncState

T = TypeVar("T")

# Nothing listens on the discard port: every request fails at once, as with an API server down.
UNREACHABLE = KubeConfig(server="https://127.0.0.1:9", insecure=True)


def with_status(
    tmp_path: Path, scenario: Callable[[ControllerStatus, asyncio.Event, Supervisor], Awaitable[T]]
) -> T:
    async def main() -> T:
        async with Kube(UNREACHABLE, timeout=5) as kube:
            url = f"file://{tmp_path}/none"
            source = GitSource(url=url, cache_dir=tmp_path / "cache")
            controller = Controller(kube=kube, source=source, options=ControllerOptions(repo=url))
            leading = asyncio.Event()
            supervisor = Supervisor(log=logging.getLogger("test"))
            status = ControllerStatus(
                controller, webhook_secret="", leading=leading, supervisor=supervisor
            )
            try:
                return await scenario(status, leading, supervisor)
            finally:
                await supervisor.close()

    return asyncio.run(main())


def test_a_replica_that_does_not_lead_refuses_the_app_routes_instead_of_listing_none(
    tmp_path: Path,
) -> None:
    async def scenario(
        status: ControllerStatus, leading: asyncio.Event, supervisor: Supervisor
    ) -> None:
        assert status.unavailable() == "standby: no leader elected yet"
        assert status.readiness() == "standby: cannot read the Lease"
        assert status.liveness() == ""

    with_status(tmp_path, scenario)


def test_a_leader_is_ready_only_once_reconciled_and_while_its_loop_runs(tmp_path: Path) -> None:
    async def scenario(
        status: ControllerStatus, leading: asyncio.Event, supervisor: Supervisor
    ) -> None:
        leading.set()
        assert status.readiness() == "leader: the reconcile loop is not running"
        forever = asyncio.Event()

        async def loop() -> None:
            await forever.wait()

        supervisor.start(RECONCILE_LOOP, loop)
        assert status.readiness() == "leader: the first reconcile has not finished"
        status.controller.ready.set()
        assert status.readiness() == ""

    with_status(tmp_path, scenario)


def test_a_leader_without_a_config_from_git_says_why_rather_than_listing_no_apps(
    tmp_path: Path,
) -> None:
    async def scenario(
        status: ControllerStatus, leading: asyncio.Event, supervisor: Supervisor
    ) -> None:
        leading.set()
        assert status.unavailable() == "leader: no config from git yet: not loaded yet"
        status.controller.git_error = "file:///x: repository not found"
        assert status.unavailable() == (
            "leader: no config from git yet: file:///x: repository not found"
        )

    with_status(tmp_path, scenario)


def test_a_dead_task_makes_the_process_unhealthy_until_it_is_restarted(tmp_path: Path) -> None:
    async def crash() -> None:
        raise RuntimeError("boom")

    async def scenario(
        status: ControllerStatus, leading: asyncio.Event, supervisor: Supervisor
    ) -> None:
        supervisor.start(RECONCILE_LOOP, crash)
        async with asyncio.timeout(2):
            while not status.liveness():
                await asyncio.sleep(0.01)
        assert status.liveness() == "reconcile loop: died: RuntimeError: boom"
        leading.set()
        status.controller.ready.set()
        assert status.readiness() == "leader: the reconcile loop is not running"

    with_status(tmp_path, scenario)


def test_history_with_the_api_server_unreachable_is_unavailable_with_the_reason(
    tmp_path: Path,
) -> None:
    async def scenario(
        status: ControllerStatus, leading: asyncio.Event, supervisor: Supervisor
    ) -> SourceError:
        with pytest.raises(SourceError) as caught:
            await status.history("shop")
        return caught.value

    error = with_status(tmp_path, scenario)
    assert error.status == 503
    assert error.message.startswith("app shop: history unavailable: ")
    assert "unreachable" in error.message


def test_a_standby_refuses_a_webhook_it_would_drop_and_a_leader_takes_it(tmp_path: Path) -> None:
    event = WebhookEvent("github", "push", "refs/heads/main")

    async def scenario(
        status: ControllerStatus, leading: asyncio.Event, supervisor: Supervisor
    ) -> None:
        with pytest.raises(SourceError) as caught:
            await status.on_webhook(event)
        assert (caught.value.status, caught.value.message) == (
            503,
            "webhook github: standby: no leader elected yet",
        )
        leading.set()
        status.controller.config = RepoConfig(apps=())
        await status.on_webhook(event)
        assert status.unavailable() == ""

    with_status(tmp_path, scenario)


def test_health_is_assessed_again_only_for_the_objects_whose_body_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assessed: list[str] = []

    def counting(live: Body | None) -> Health:
        assessed.append(str((live or {}).get("metadata", {}).get("name", "(gone)")))
        return assess(live)

    monkeypatch.setattr(statuses, "assess", counting)

    async def scenario(
        status: ControllerStatus, leading: asyncio.Event, supervisor: Supervisor
    ) -> None:
        tracker = status.controller._tracker
        for name in ("a", "b", "c"):
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
            ref = ObjectRef.of({**body, "metadata": {"name": name, "namespace": "shop"}})
            tracked = Tracked(
                app="shop", ref=ref, api_version="v1", desired=body, ignore=(), live=body
            )
            tracker.objects[ref] = tracked
            tracker._by_app.setdefault("shop", {})[ref] = tracked
        tracker.touch("shop")
        status.refresh_health()
        assert sorted(assessed) == ["a", "b", "c"]
        assert status._health == {"shop": "Healthy"}

        assessed.clear()
        status.refresh_health()  # nothing changed: nothing walked
        gone = next(t for t in tracker.objects.values() if t.ref.name == "b")
        gone.live = None  # what a DELETED event leaves
        tracker.touch("shop")
        status.refresh_health()
        assert assessed == ["(gone)"]
        assert status._health == {"shop": "Missing"}

        # Another app's change walks that app's objects only; an app let go of has none.
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}}
        ref = ObjectRef.of({**body, "metadata": {"name": "d", "namespace": "shop"}})
        other = Tracked(app="other", ref=ref, api_version="v1", desired=body, ignore=(), live=body)
        tracker.objects[ref] = other
        tracker._by_app["other"] = {ref: other}
        tracker.touch("other")
        assessed.clear()
        status.refresh_health()
        assert assessed == ["d"]
        assert status._health == {"shop": "Missing", "other": "Healthy"}
        tracker.keep_only(["other"])
        status.refresh_health()
        assert status._health == {"other": "Healthy"}

    with_status(tmp_path, scenario)


def test_app_gauges_follow_each_change_of_status_and_health(tmp_path: Path) -> None:
    async def scenario(
        status: ControllerStatus, leading: asyncio.Event, supervisor: Supervisor
    ) -> None:
        controller = status.controller
        controller.apps["shop"] = AppState(spec=AppSpec(name="shop", path="shop", namespace="s"))
        metrics = controller.metrics

        def gauge(metric: str, value: str) -> float:
            for family in metrics.app_status.collect():
                for sample in family.samples:
                    if family.name == f"gitward_{metric}" and sample.labels["status"] == value:
                        return float(sample.value)
            raise AssertionError(f"no {metric} {value}")

        controller.apps["shop"].sync = SyncState.SYNCED
        controller.publish_app_gauges({"shop": "Progressing"})
        controller.publish_app_gauges({"shop": "Progressing"})  # nothing new
        assert gauge("app_sync_status", "Synced") == 1.0
        assert gauge("app_health_status", "Progressing") == 1.0
        controller.publish_app_gauges({"shop": "Healthy"})
        assert gauge("app_health_status", "Progressing") == 0.0
        assert gauge("app_health_status", "Healthy") == 1.0
        controller.apps["shop"].sync = SyncState.OUT_OF_SYNC
        controller.publish_app_gauges({"shop": "Healthy"})
        assert gauge("app_sync_status", "Synced") == 0.0
        assert gauge("app_sync_status", "OutOfSync") == 1.0

    with_status(tmp_path, scenario)
