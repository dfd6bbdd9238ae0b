"""The controller with a forge: deploy statuses on the commit it syncs, once, whoever leads."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import yaml

from gitward.forge import CommitState, ForgeSettings, PullAction, PullRequestEvent
from gitward.heal.controller import Controller, ControllerOptions
from gitward.kube.fake import FakeApiServer
from tests.unit.fakecluster import server
from tests.unit.forge.fakeforge import FakeForge
from tests.unit.heal.test_controller_drift import REPO, SETTINGS, OneCommit, until

SETTINGS_FORGE = ForgeSettings(
    kind="gitea", url="http://127.0.0.1:1", repo="acme/config", token="t"
)


def write_repo(root: Path) -> None:
    (root / "app").mkdir(parents=True)
    (root / "gitward.yaml").write_text(
        yaml.safe_dump(
            {"apps": [{"name": "shop", "path": "app", "namespace": "shop", "autoSync": True}]}
        )
    )
    (root / "app" / "settings.yaml").write_text(yaml.safe_dump(SETTINGS))


async def lead_once(srv: FakeApiServer, root: Path, forge: FakeForge) -> Controller:
    async with srv.kube() as kube:
        controller = Controller(
            kube=kube,
            source=OneCommit(root),
            options=ControllerOptions(
                repo=REPO,
                poll_interval=3600,
                full_reconcile_interval=3600,
                forge=SETTINGS_FORGE,
                public_url="http://gitward.example",
            ),
            forge=forge,
        )
        task = asyncio.create_task(controller.lead())
        try:
            await until(controller.ready.is_set, what="the first reconcile")
            assert controller.deploys is not None
            await controller.deploys.settled()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await controller.close()
        return controller


def test_a_synced_commit_gets_pending_then_success_once_across_leaders(tmp_path: Path) -> None:
    write_repo(tmp_path)
    srv = server()
    first, second = FakeForge(), FakeForge()
    controller = asyncio.run(lead_once(srv, tmp_path, first))
    sha = OneCommit(tmp_path).revision.sha
    sent = [(s.context, s.state, s.target_url) for s in first.status_list[sha]]
    assert sent == [
        ("gitward/deploy/shop", CommitState.PENDING, "http://gitward.example/api/v1/apps/shop"),
        ("gitward/deploy/shop", CommitState.SUCCESS, "http://gitward.example/api/v1/apps/shop"),
    ]
    assert controller.apps["shop"].revision == sha
    # A new leader reconciles everything afresh: the statuses are already on the commit.
    asyncio.run(lead_once(srv, tmp_path, second))
    assert second.status_list == {}


def test_a_pull_request_event_is_previewed_only_with_a_forge(tmp_path: Path) -> None:
    write_repo(tmp_path)
    event = PullRequestEvent(
        forge="gitea", action=PullAction.OPENED, number=1, head="b", head_sha="a" * 40,
        base="main", repo="acme/config",
    )  # fmt: skip

    async def go() -> tuple[bool, bool]:
        async with server().kube() as kube:
            plain = Controller(
                kube=kube, source=OneCommit(tmp_path), options=ControllerOptions(repo=REPO)
            )
            with_forge = Controller(
                kube=kube,
                source=OneCommit(tmp_path),
                options=ControllerOptions(repo=REPO, forge=SETTINGS_FORGE),
                forge=FakeForge(),
            )
            try:
                return plain.preview(event), with_forge.preview(event)
            finally:
                await with_forge.close()

    assert asyncio.run(go()) == (False, True)


def test_an_app_gone_from_gitward_yaml_takes_its_deploy_status_records_along(
    tmp_path: Path,
) -> None:
    from gitward.plan.inventory import Inventory
    from gitward.record import apprecords, store
    from gitward.record.apprecords import AppRecords
    from gitward.review.deploys import KIND as DEPLOYS
    from gitward.review.deploys import DeployStatus, configmap_name, report
    from gitward.source.opening import source_of

    write_repo(tmp_path)
    srv = server()

    async def seed() -> None:
        async with srv.kube() as kube:
            gone = Inventory(app="gone", entries=(), source=source_of(REPO))
            await apprecords.save(
                kube, AppRecords(app="gone", inventory=gone), stored=AppRecords(app="gone")
            )
            status = DeployStatus(
                app="gone", key="gone", revision="b" * 40, state=CommitState.SUCCESS
            )
            assert await report(kube, FakeForge(), status)

    async def ledger() -> object:
        async with srv.kube() as kube:
            return await store.read(kube, configmap_name("gone"), kind=DEPLOYS)

    asyncio.run(seed())
    assert asyncio.run(ledger()) is not None
    asyncio.run(lead_once(srv, tmp_path, FakeForge()))
    assert asyncio.run(ledger()) is None
