"""Self-heal's write: one drifted object put back as git says, on the in-memory API server."""

from __future__ import annotations

from gitward.apply.changes import Outcome
from gitward.apply.correcting import Correction, correct_object
from gitward.kube import Kube
from gitward.objects import Body, ObjectRef
from tests.unit.fakecluster import MANAGER, Step, configmap, run, seed, server

REF = ObjectRef(group="", kind="ConfigMap", namespace="shop", name="settings")


async def correct(kube: Kube, desired: Body, ignore: tuple[str, ...] = ()) -> Correction:
    return await correct_object(
        kube=kube,
        ref=REF,
        api_version="v1",
        desired=desired,
        ignore=ignore,
        field_manager=MANAGER,
    )


def test_a_field_changed_by_hand_is_taken_back_from_the_other_manager() -> None:
    srv = server()
    desired = configmap("settings", colour="blue")

    async def scenario(kube: Kube) -> tuple[Correction, Body | None]:
        await seed(
            kube,
            [Step(MANAGER, desired), Step("kubectl-edit", configmap("settings", colour="pink"))],
        )
        done = await correct(kube, desired)
        res = await kube.resource_for("v1", "ConfigMap")
        assert res is not None
        return done, await kube.get(res, name="settings", namespace="shop")

    done, live = run(srv, scenario)
    assert done.change.outcome is Outcome.CONFIGURED
    assert live is not None and live["data"] == {"colour": "blue"}


def test_an_ignored_field_keeps_its_live_value() -> None:
    srv = server()
    desired = configmap("settings", colour="blue", size="s")

    async def scenario(kube: Kube) -> Body | None:
        await seed(
            kube,
            [Step(MANAGER, desired), Step("hpa", configmap("settings", colour="pink", size="xl"))],
        )
        await correct(kube, desired, ignore=("/data/size",))
        res = await kube.resource_for("v1", "ConfigMap")
        assert res is not None
        return await kube.get(res, name="settings", namespace="shop")

    live = run(srv, scenario)
    assert live is not None and live["data"] == {"colour": "blue", "size": "xl"}


def test_a_deleted_object_is_created_again() -> None:
    srv = server()

    async def scenario(kube: Kube) -> Correction:
        return await correct(kube, configmap("settings", colour="blue"))

    assert run(srv, scenario).change.outcome is Outcome.CREATED


def test_a_refused_correction_is_a_failed_result_naming_the_object() -> None:
    srv = server()
    desired = configmap("settings", colour="blue")
    desired["metadata"]["namespace"] = "nowhere"

    async def scenario(kube: Kube) -> Correction:
        return await correct(kube, desired)

    done = run(srv, scenario)
    assert (done.change.outcome, done.body) == (Outcome.FAILED, None)
    assert "nowhere" in done.change.message
