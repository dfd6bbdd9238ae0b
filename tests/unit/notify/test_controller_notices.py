"""The controller tells what happens: a sync, a hand edit and its correction, a fight."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import yaml

from gitward.config.notifications import NotificationSettings
from gitward.heal.controller import Controller, ControllerOptions
from gitward.kube import Kube
from gitward.kube.fake import FakeApiServer
from tests.unit.heal.test_controller_drift import REPO, SETTINGS, OneCommit, edit, in_cluster, until
from tests.unit.notify.receivers import Receiver, add_secret, notifier, settings, webhook


@contextlib.asynccontextmanager
async def leading(srv: FakeApiServer, root: Path, receiver: Receiver) -> AsyncIterator[Controller]:
    (root / "app").mkdir(parents=True)
    (root / "gitward.yaml").write_text(
        yaml.safe_dump(
            {
                "environment": "prod",
                "apps": [
                    {
                        "name": "shop",
                        "path": "app",
                        "namespace": "shop",
                        "autoSync": True,
                        "selfHeal": True,
                    }
                ],
            }
        )
    )
    (root / "app" / "settings.yaml").write_text(yaml.safe_dump(SETTINGS))
    config = settings(webhook())
    async with srv.kube() as own:
        controller = Controller(
            kube=own,
            source=OneCommit(root),
            options=ControllerOptions(
                repo=REPO,
                poll_interval=3600,
                full_reconcile_interval=3600,
                public_url="http://127.0.0.1:8080",
                notifications=config,
            ),
        )
        assert controller.notices.active
        # The receiver is in this process: the notifier posts to it through httpx's mock.
        controller.notices.notifier = notifier(own, config, receiver)
        task = asyncio.create_task(controller.lead())
        try:
            await until(controller.ready.is_set, what="the first reconcile")
            yield controller
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def events(receiver: Receiver) -> list[str]:
    return [f"{b['event']} {b['object'].partition('@')[0]}".strip() for b in receiver.bodies()]


def test_a_sync_and_a_hand_edit_put_back_are_each_told_once(tmp_path: Path) -> None:
    receiver = Receiver()

    async def go(srv: FakeApiServer, hand: Kube) -> None:
        await add_secret(hand)
        async with leading(srv, tmp_path, receiver) as controller:
            await until(lambda: events(receiver), what="the sync's notification")
            await edit(hand, "kubectl-edit", colour="green")
            await until(lambda: len(receiver.requests) >= 3, what="drift notifications")
            # A full reconcile of the same revision is no news.
            await controller.sync_now("shop")
            await asyncio.sleep(0.1)

    in_cluster(go)
    assert events(receiver) == [
        "sync-succeeded",
        "drift-detected ConfigMap/shop/settings",
        "drift-corrected ConfigMap/shop/settings",
    ]
    first = receiver.bodies()[0]
    assert first["app"] == "shop" and first["appKey"] == "prod.shop"
    assert first["revisionUrl"] == f"https://git.example/config/commit/{'c0ffee' * 6}beef"
    assert first["appUrl"] == "http://127.0.0.1:8080/api/v1/apps/shop"


def test_without_providers_the_controller_keeps_no_notifier(tmp_path: Path) -> None:
    controller = Controller(
        kube=None,  # type: ignore[arg-type]
        source=OneCommit(tmp_path),
        options=ControllerOptions(repo=REPO, notifications=NotificationSettings()),
    )
    assert not controller.notices.active
