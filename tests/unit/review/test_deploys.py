"""Deploy statuses reach a merged commit exactly once per app, revision and state."""

from __future__ import annotations

from gitward.forge import CommitState, CommitStatus
from gitward.kube import Kube
from gitward.record import store
from gitward.review.deploys import DeployStatus, configmap_name, report
from tests.unit.fakecluster import run, server
from tests.unit.forge.fakeforge import FakeForge

SHA = "c" * 40


def status(state: CommitState, revision: str = SHA) -> DeployStatus:
    return DeployStatus(
        app="shop",
        key="prod.shop",
        revision=revision,
        state=state,
        description="Healthy" if state is CommitState.SUCCESS else "applying",
        target_url="http://127.0.0.1:8080/api/v1/apps/shop",
    )


def sent(forge: FakeForge) -> list[str]:
    return [c for c in forge.calls if c.startswith("set_status")]


def test_each_state_is_sent_once_however_often_it_is_reported() -> None:
    srv, forge = server(), FakeForge()

    async def go(kube: Kube) -> list[bool]:
        return [
            await report(kube, forge, status(CommitState.PENDING)),
            await report(kube, forge, status(CommitState.PENDING)),
            await report(kube, forge, status(CommitState.SUCCESS)),
            await report(kube, forge, status(CommitState.SUCCESS)),
        ]

    assert run(srv, go) == [True, False, True, False]
    assert sent(forge) == [
        "set_status gitward/deploy/shop pending",
        "set_status gitward/deploy/shop success",
    ]
    (shown,) = forge.status_list[SHA][-1:]
    assert shown == CommitStatus(
        context="gitward/deploy/shop",
        state=CommitState.SUCCESS,
        description="Healthy",
        target_url="http://127.0.0.1:8080/api/v1/apps/shop",
    )


def test_a_new_leader_does_not_send_again_what_the_old_one_sent() -> None:
    srv, forge = server(), FakeForge()
    run(srv, lambda kube: report(kube, forge, status(CommitState.SUCCESS)))
    # Another replica, another process: only the cluster and the forge are shared.
    again = run(srv, lambda kube: report(kube, FakeForge(), status(CommitState.SUCCESS)))
    assert again is False


def test_no_pending_after_a_final_state() -> None:
    srv, forge = server(), FakeForge()
    run(srv, lambda kube: report(kube, forge, status(CommitState.FAILURE)))
    assert run(srv, lambda kube: report(kube, forge, status(CommitState.PENDING))) is False
    assert sent(forge) == ["set_status gitward/deploy/shop failure"]


def test_a_leader_that_died_while_sending_is_checked_against_the_forge() -> None:
    srv = server()

    async def died_after_sending(kube: Kube, forge: FakeForge) -> None:
        await store.write(
            kube,
            configmap_name("prod.shop"),
            {"revisions": [{"revision": SHA, "states": {"success": "sending"}}]},
            labels={},
        )
        await forge.set_status(sha=SHA, status=status(CommitState.SUCCESS).as_commit_status())

    forge = FakeForge()
    run(srv, lambda kube: died_after_sending(kube, forge))
    assert run(srv, lambda kube: report(kube, forge, status(CommitState.SUCCESS))) is False
    assert len(sent(forge)) == 1
    # Died before the forge heard of it: the next leader sends it.
    other = FakeForge()
    run(srv, died_after_sending_nothing)
    assert run(srv, lambda kube: report(kube, other, status(CommitState.SUCCESS, "d" * 40)))
    assert sent(other) == ["set_status gitward/deploy/shop success"]


async def died_after_sending_nothing(kube: Kube) -> None:
    await store.write(
        kube,
        configmap_name("prod.shop"),
        {"revisions": [{"revision": "d" * 40, "states": {"success": "sending"}}]},
        labels={},
    )


def test_each_revision_has_its_own_statuses() -> None:
    srv, forge = server(), FakeForge()
    run(srv, lambda kube: report(kube, forge, status(CommitState.SUCCESS)))
    assert run(srv, lambda kube: report(kube, forge, status(CommitState.SUCCESS, "e" * 40)))
