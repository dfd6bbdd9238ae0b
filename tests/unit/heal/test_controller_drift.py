"""The controller's drift judgement and backoff, run whole on the in-memory API server.

The controller leads as in production (sync, track, watch); only git is
replaced, by one fixed commit on disk. Hand edits are made through a second
client under the field manager a real tool would use.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml

from gitward.config.identity import TRACKING_ANNOTATION
from gitward.heal.controller import Controller, ControllerOptions
from gitward.kube import Kube
from gitward.kube.fake import FakeApiServer
from gitward.objects import Body
from gitward.source import GitSource
from gitward.source.revisions import Checkout, Revision
from gitward.views import drift_view
from tests.unit.fakecluster import server

T = TypeVar("T")
REPO = "https://git.example/config.git"
SETTINGS: Body = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings"},
    "data": {"colour": "blue", "size": "L"},
}


def apps_of_one_configmap(root: Path, names: list[str], **fields: Any) -> None:
    """A config repository at ``root``: one app per name, each a ConfigMap ``c`` in
    the namespace of its name, with ``fields`` (``autoSync`` …) set on every app."""
    for name in names:
        (root / name).mkdir()
        (root / name / "cm.yaml").write_text(
            yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
        )
    apps = [{"name": n, "path": n, "namespace": n, **fields} for n in names]
    (root / "gitward.yaml").write_text(yaml.safe_dump({"apps": apps}))


class OneCommit(GitSource):
    """A config repository that is one commit already on disk: no git, no fetch."""

    def __init__(self, root: Path) -> None:
        super().__init__(url=REPO, cache_dir=root / ".cache")
        self.root = root
        self.revision = Revision(
            sha="c0ffee" * 6 + "beef",
            ref="main",
            author="Ada Lovelace",
            subject="initial",
            committed_at=datetime(2026, 1, 1, tzinfo=UTC),
        )

    def resolve(self, ref: str) -> Revision:
        return self.revision

    def checkout(self, ref: str) -> Checkout:
        return Checkout(path=self.root, revision=self.revision)

    def changed_paths(self, old_sha: str, new_sha: str) -> frozenset[str]:
        return frozenset()


async def until(check: Callable[[], T], *, timeout: float = 5.0, what: str = "it") -> T:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)
    return value


@contextlib.asynccontextmanager
async def leading(srv: FakeApiServer, root: Path, *, self_heal: bool) -> AsyncIterator[Controller]:
    """A controller that has synced app ``shop`` and watches its ConfigMap."""
    (root / "app").mkdir(parents=True)
    (root / "gitward.yaml").write_text(
        yaml.safe_dump(
            {
                "apps": [
                    {
                        "name": "shop",
                        "path": "app",
                        "namespace": "shop",
                        "autoSync": True,
                        "selfHeal": self_heal,
                    }
                ]
            }
        )
    )
    (root / "app" / "settings.yaml").write_text(yaml.safe_dump(SETTINGS))
    async with srv.kube() as kube:
        controller = Controller(
            kube=kube,
            source=OneCommit(root),
            options=ControllerOptions(repo=REPO, poll_interval=3600, full_reconcile_interval=3600),
        )
        task = asyncio.create_task(controller.lead())
        try:
            await until(controller.ready.is_set, what="the first reconcile")
            await until(
                lambda: any(c.verb == "watch" and c.kind == "ConfigMap" for c in srv.calls),
                what="the ConfigMap watch",
            )
            yield controller
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def drifts(controller: Controller) -> list[dict[str, Any]]:
    """Newest first."""
    return [drift_view(d) for d in controller.drift_records("shop")]


async def edit(kube: Kube, manager: str, **data: str) -> None:
    """What ``kubectl edit`` does: read, change, PUT, as an Update by ``manager``."""
    res = await kube.resource_for("v1", "ConfigMap")
    assert res is not None
    live = await kube.get(res, name="settings", namespace="shop")
    assert live is not None
    live["data"].update(data)
    await kube.replace(live, field_manager=manager)


async def apply_as(kube: Kube, manager: str, body: Body, *, force: bool = False) -> None:
    await kube.apply(
        {**body, "metadata": {"name": "settings", "namespace": "shop"}},
        field_manager=manager,
        force=force,
    )


def in_cluster(go: Callable[[FakeApiServer, Kube], Awaitable[None]]) -> None:
    srv = server()

    async def main() -> None:
        async with srv.kube() as hand:
            await go(srv, hand)

    asyncio.run(main())


def test_a_field_taken_by_another_writer_is_drift_naming_that_writer(tmp_path: Path) -> None:
    async def go(srv: FakeApiServer, hand: Kube) -> None:
        async with leading(srv, tmp_path, self_heal=False) as controller:
            await edit(hand, "kubectl-edit", colour="green")
            record = (await until(lambda: drifts(controller), what="a drift record"))[0]
            assert record["change"] == "modified"
            assert record["actor"] == "kubectl-edit"
            assert record["fields"] == ["data.colour"]
            assert record["outcome"] == "reported"
            assert controller.apps["shop"].sync.value == "OutOfSync"

    in_cluster(go)


def test_same_values_from_another_writer_and_fields_we_never_owned_are_not_drift(
    tmp_path: Path,
) -> None:
    async def go(srv: FakeApiServer, hand: Kube) -> None:
        async with leading(srv, tmp_path, self_heal=False) as controller:
            # Another manager applies our values (the field is shared), and adds a field of its own.
            await apply_as(hand, "helper", {**SETTINGS, "data": {"colour": "blue", "extra": "1"}})
            # Then a real drift, so there is something to wait for: the record list
            # must hold that one alone.
            await edit(hand, "kubectl-edit", size="S")
            await until(lambda: drifts(controller), what="a drift record")
            assert [(r["actor"], r["fields"]) for r in drifts(controller)] == [
                ("kubectl-edit", ["data.size"])
            ]

    in_cluster(go)


def test_values_changed_under_our_own_field_manager_name_are_drift(tmp_path: Path) -> None:
    async def go(srv: FakeApiServer, hand: Kube) -> None:
        async with leading(srv, tmp_path, self_heal=False) as controller:
            ident = controller.apps["shop"].spec.id
            manager = ident.field_manager
            # The same fields the app applies (its tracking annotation too), other values.
            await hand.apply(
                {
                    **SETTINGS,
                    "metadata": {
                        "name": "settings",
                        "namespace": "shop",
                        "annotations": {TRACKING_ANNOTATION: ident.tracking_id},
                    },
                    "data": {"colour": "red", "size": "L"},
                },
                field_manager=manager,
            )
            record = (await until(lambda: drifts(controller), what="a drift record"))[0]
            assert record["actor"] == f"{manager} (another writer using this app's field manager)"
            assert record["fields"] == ["(values of managed fields)"]

    in_cluster(go)


def test_a_deleted_object_is_drift(tmp_path: Path) -> None:
    async def go(srv: FakeApiServer, hand: Kube) -> None:
        async with leading(srv, tmp_path, self_heal=False) as controller:
            res = await hand.resource_for("v1", "ConfigMap")
            assert res is not None
            await hand.delete(res, name="settings", namespace="shop")
            record = (await until(lambda: drifts(controller), what="a drift record"))[0]
            assert (record["change"], record["fields"]) == ("deleted", ["(object)"])

    in_cluster(go)


def test_with_self_heal_a_drift_is_put_back_at_once_and_a_second_one_waits(
    tmp_path: Path,
) -> None:
    async def go(srv: FakeApiServer, hand: Kube) -> None:
        async with leading(srv, tmp_path, self_heal=True) as controller:
            await edit(hand, "kubectl-edit", colour="green")
            await until(
                lambda: [r["outcome"] for r in drifts(controller)] == ["corrected"],
                what="the first correction",
            )
            stored = srv.stored("v1", "ConfigMap", "settings", "shop")
            assert stored is not None
            assert stored["data"]["colour"] == "blue"
            # The writer comes straight back: now it is a fight, and the heal waits.
            await edit(hand, "kubectl-edit", colour="green")
            await until(lambda: len(drifts(controller)) == 2, what="the second drift")
            assert [r["outcome"] for r in drifts(controller)] == ["pending", "corrected"]
            assert controller.fighting("shop") == (
                "fighting with field manager kubectl-edit over ConfigMap/shop/settings; "
                "corrections wait 2s"
            )
            assert controller.heal_applies == 1

    in_cluster(go)
