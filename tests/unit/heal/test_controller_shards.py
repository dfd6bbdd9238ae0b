"""A sharded controller on the in-memory API server: it writes only its shards' apps,
reconciles the apps of a shard it gains, and lets go of those of a shard it loses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml

from gitward.config.loader import load_repo_config
from gitward.heal.controller import Controller, ControllerOptions
from gitward.heal.shards import Assignment, group_keys, shard_of
from tests.unit.fakecluster import server
from tests.unit.heal.test_controller_drift import REPO, OneCommit, apps_of_one_configmap, until

SHARDS = 3


def test_a_controller_writes_only_the_apps_of_its_shards_and_takes_up_gained_ones(
    tmp_path: Path,
) -> None:
    names = [f"app-{i}" for i in range(9)]
    apps_of_one_configmap(tmp_path, names, autoSync=True)
    config = load_repo_config(tmp_path).from_source(REPO)
    keys = group_keys(config.apps)
    shard = {n: shard_of(keys[n], SHARDS) for n in names}
    mine = {n for n in names if shard[n] == 0}
    assert mine and len(mine) < len(names), shard  # the fixture must split the apps
    srv = server(*names)

    def written() -> set[str]:
        return {
            c.namespace
            for c in srv.calls
            if c.verb == "patch" and not c.dry_run and c.namespace in names
        }

    async def main() -> None:
        async with srv.kube() as kube:
            controller = Controller(
                kube=kube,
                source=OneCommit(tmp_path),
                options=ControllerOptions(
                    repo=REPO, poll_interval=3600, full_reconcile_interval=3600
                ),
            )
            controller.serve(Assignment(count=SHARDS, served=frozenset({0})))
            task = asyncio.create_task(controller.lead())
            try:
                await until(controller.ready.is_set, what="the first reconcile")
                assert set(controller.apps) == mine
                assert written() == mine
                # Shard 1 gained: its apps are reconciled without a new commit.
                gained = {n for n in names if shard[n] == 1}
                controller.serve(Assignment(count=SHARDS, served=frozenset({0, 1})))
                await until(
                    lambda: {t.app for t in controller.tracked.values()} == mine | gained,
                    what="shard 1's apps synced and tracked",
                )
                assert written() == mine | gained
                assert set(controller.apps) == mine | gained
                # Shard 0 lost: its apps and their objects are let go at once.
                controller.serve(Assignment(count=SHARDS, served=frozenset({1})))
                assert set(controller.apps) == gained
                assert {t.app for t in controller.tracked.values()} == gained
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


def test_the_loop_stops_when_cancelled_just_as_a_trigger_fires(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "cm.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    )
    (tmp_path / "gitward.yaml").write_text(
        yaml.safe_dump({"apps": [{"name": "app", "path": "app", "namespace": "shop"}]})
    )
    srv = server()

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
            await until(controller.ready.is_set, what="the first reconcile")
            await asyncio.sleep(0.05)  # waiting for a trigger now
            # A shard handed back (or a webhook) triggers just as the owner stops the loop:
            # the stop must win, or the owner waits for the loop for good.
            controller.trigger()
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=5)
            assert done == {task} and task.cancelled()

    asyncio.run(main())
