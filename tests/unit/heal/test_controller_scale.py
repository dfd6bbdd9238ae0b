"""Many apps at once on the in-memory API server: every app's objects are seen live."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.config.identity import records_namespace
from gitward.heal.controller import Controller, ControllerOptions
from gitward.heal.statuses import ControllerStatus
from gitward.heal.supervise import Supervisor
from gitward.health import HealthStatus
from gitward.record import apprecords
from tests.unit.fakecluster import server
from tests.unit.heal.test_controller_drift import REPO, OneCommit, apps_of_one_configmap, until


def test_apps_synced_after_their_kind_is_watched_cluster_wide_are_seen_live(
    tmp_path: Path,
) -> None:
    names = [f"app-{i}" for i in range(12)]
    apps_of_one_configmap(tmp_path, names, autoSync=True, selfHeal=True)
    # app-0 leaves drift alone, so a hand deletion stays for its health to show.
    config = yaml.safe_load((tmp_path / "gitward.yaml").read_text())
    config["apps"][0]["selfHeal"] = False
    (tmp_path / "gitward.yaml").write_text(yaml.safe_dump(config))
    srv = server(*names)

    async def main() -> None:
        async with srv.kube() as kube:
            controller = Controller(
                kube=kube,
                source=OneCommit(tmp_path),
                options=ControllerOptions(
                    repo=REPO,
                    poll_interval=3600,
                    full_reconcile_interval=3600,
                    max_concurrent_syncs=3,
                ),
            )
            task = asyncio.create_task(controller.lead())
            try:
                await until(controller.ready.is_set, what="the first reconcile")
                assert all(controller.apps[n].sync.value == "Synced" for n in names)
                # One watch of ConfigMaps in every namespace; its events for objects
                # created after it opened reach the apps that created them.
                assert any(
                    c.verb == "watch" and c.kind == "ConfigMap" and c.namespace == ""
                    for c in srv.calls
                )

                def healthy() -> bool:
                    healths = [controller.health_of(n) for n in names]
                    return all(h is not None and h.status is HealthStatus.HEALTHY for h in healths)

                await until(healthy, what="every app Healthy")
                # What is kept of each live object leaves its managedFields out.
                lives = [t.live for t in controller.tracked.values()]
                assert lives and all(
                    live is not None and "managedFields" not in live["metadata"] for live in lives
                )
                # The API's health is assessed again when a watch reports a change.
                status = ControllerStatus(
                    controller,
                    webhook_secret="",
                    leading=asyncio.Event(),
                    supervisor=Supervisor(log=logging.getLogger("test")),
                )
                status.refresh_health()
                assert status.app_summary("app-0")["health"] == "Healthy"
                res = await kube.resource_for("v1", "ConfigMap")
                assert res is not None
                await kube.delete(res, name="c", namespace="app-0")

                def missing() -> bool:
                    health = controller.health_of("app-0")
                    return health is not None and health.status is HealthStatus.MISSING

                await until(missing, what="the deletion seen")
                status.refresh_health()
                assert status.app_summary("app-0")["health"] == "Missing"
                assert status.app_summary("app-1")["health"] == "Healthy"
                # An unchanged app is not encoded again, so polling the list costs
                # only the apps that changed; app-0's change above gave a new view.
                assert status.app_summary("app-1") is status.app_summary("app-1")
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    asyncio.run(main())


def test_a_cold_start_reads_no_record_and_no_namespace_app_by_app(
    tmp_path: Path,
) -> None:
    names = [f"app-{i}" for i in range(6)]
    apps_of_one_configmap(tmp_path, names, createNamespace=True, autoSync=True)
    srv = server()
    records = records_namespace()

    async def main() -> None:
        async with srv.kube() as kube:
            controller = Controller(
                kube=kube,
                source=OneCommit(tmp_path),
                options=ControllerOptions(
                    repo=REPO, poll_interval=3600, full_reconcile_interval=3600
                ),
            )
            task = asyncio.create_task(controller.lead())
            try:
                await until(controller.ready.is_set, what="the first reconcile")
                assert all(controller.apps[n].sync.value == "Synced" for n in names)
                calls = [c for c in srv.calls if c.namespace == records and c.kind == "ConfigMap"]
                # LISTs (retiring's, and the batch's) answered every app's inventory
                # and history: no GET of any record.
                assert [c.verb for c in calls if c.verb in ("get", "list")] == ["list", "list"]
                # The namespace watch said which namespaces exist: none was read by name.
                read = {c.name for c in srv.calls if c.kind == "Namespace" and c.verb == "get"}
                assert not read & set(names)  # (the records namespace is checked once)
                assert sorted(
                    c.name for c in srv.calls if c.kind == "Namespace" and c.verb == "patch"
                ) == sorted(names)
                # Each app wrote its record twice: its pending inventory before applying,
                # then what it applied and how it went.
                assert len([c for c in calls if c.verb == "patch"]) == 2 * len(names)
                for name in names:
                    history = (await apprecords.load(kube, name)).history
                    assert [r.result.value for r in history] == ["succeeded"]
                # A sync outside a batch reads the records the batch's syncs wrote.
                srv.calls.clear()
                await controller.sync_now("app-0")
                reads = [c.name for c in srv.calls if c.namespace == records and c.verb == "get"]
                assert reads == ["gitward-app-app-0"]
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    asyncio.run(main())


def test_a_round_longer_than_the_full_reconcile_interval_does_not_start_the_next_at_once(
    tmp_path: Path,
) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "cm.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    )
    spec = {"name": "app", "path": "app", "namespace": "shop", "autoSync": True}
    (tmp_path / "gitward.yaml").write_text(yaml.safe_dump({"apps": [spec]}))
    srv = server()
    rounds: list[int] = []

    async def main() -> None:
        async with srv.kube() as kube:
            controller = Controller(
                kube=kube,
                source=OneCommit(tmp_path),
                options=ControllerOptions(repo=REPO, poll_interval=3600, full_reconcile_interval=1),
            )

            async def slow_round(specs: object, root: object, rev: object) -> None:
                rounds.append(1)
                await asyncio.sleep(1.5)  # longer than the interval

            controller._reconcile_batch = slow_round  # type: ignore[method-assign]
            await controller.refresh()  # the first round: every app
            await controller.refresh()  # the same commit, right after it
            assert len(rounds) == 1

    asyncio.run(main())


def test_a_cold_start_longer_than_the_full_reconcile_interval_is_not_redone_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    names = [f"app-{i}" for i in range(3)]
    apps_of_one_configmap(tmp_path, names, autoSync=True)
    srv = server(*names)

    async def main() -> None:
        async with srv.kube() as kube:
            controller = Controller(
                kube=kube,
                source=OneCommit(tmp_path),
                options=ControllerOptions(
                    repo=REPO,
                    poll_interval=3600,
                    full_reconcile_interval=1.0,
                    max_concurrent_syncs=1,
                ),
            )
            sync = controller.reconcile_app

            async def slow(*args: Any, **kwargs: Any) -> None:
                await asyncio.sleep(0.6)  # three apps one after another: longer than 1.1 s
                await sync(*args, **kwargs)

            controller.reconcile_app = slow  # type: ignore[method-assign]
            task = asyncio.create_task(controller.lead())
            try:
                with caplog.at_level(logging.INFO, logger="gitward.controller"):
                    await until(controller.ready.is_set, what="the first reconcile")
                    await asyncio.sleep(0.5)
                assert "full-reconcile" not in caplog.text
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    asyncio.run(main())
