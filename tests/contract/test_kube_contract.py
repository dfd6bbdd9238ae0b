"""What gitward relies on from the API server, checked on the fake and the real one alike."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gitward.kube import Conflict, Kube, NotFound, Resource
from gitward.kube.client import WatchEvent
from gitward.objects import Body
from gitward.plan.fieldsets import gitward_fields, leaves
from tests.contract.conftest import Api

OURS = "gitward/contract"
THEIRS = "someone-else"


def settings(namespace: str, **data: str) -> Body:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": namespace, "labels": {"app": "shop"}},
        "data": data or {"colour": "blue"},
    }


async def configmaps(kube: Kube) -> Resource:
    res = await kube.resource_for("v1", "ConfigMap")
    assert res is not None
    return res


def owned(body: Body, manager: str) -> set[tuple[str, ...]]:
    return leaves(gitward_fields(body, manager))


def test_apply_creates_the_object_with_a_uid_and_a_resource_version(api: Api) -> None:
    async def go(kube: Kube) -> tuple[Body, Body | None]:
        out = await kube.apply(settings(api.namespace), field_manager=OURS)
        return out, await kube.get(await configmaps(kube), name="settings", namespace=api.namespace)

    out, live = api.run(go)
    assert out["metadata"]["uid"]
    assert out["metadata"]["resourceVersion"]
    assert live is not None
    assert live["metadata"]["uid"] == out["metadata"]["uid"]
    assert live["data"] == {"colour": "blue"}
    assert ("data", "colour") in owned(live, OURS)
    assert ("metadata", "labels", "app") in owned(live, OURS)


def test_a_second_identical_apply_keeps_the_resource_version(api: Api) -> None:
    async def go(kube: Kube) -> tuple[Body, Body]:
        first = await kube.apply(settings(api.namespace), field_manager=OURS)
        return first, await kube.apply(settings(api.namespace), field_manager=OURS)

    first, second = api.run(go)
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


def test_another_managers_apply_of_a_field_we_own_conflicts_with_its_causes(api: Api) -> None:
    async def go(kube: Kube) -> Conflict:
        await kube.apply(settings(api.namespace), field_manager=OURS)
        with pytest.raises(Conflict) as caught:
            await kube.apply(settings(api.namespace, colour="red"), field_manager=THEIRS)
        return caught.value

    err = api.run(go)
    causes = err.details.get("causes", [])
    assert [c.get("field") for c in causes] == [".data.colour"]
    assert all(c.get("reason") == "FieldManagerConflict" for c in causes)
    # The planner quotes this text to users.
    assert str(err).endswith(f'Apply failed with 1 conflict: conflict with "{OURS}": .data.colour')


def test_another_managers_apply_of_the_same_value_shares_the_field(api: Api) -> None:
    async def go(kube: Kube) -> Body:
        await kube.apply(settings(api.namespace), field_manager=OURS)
        return await kube.apply(settings(api.namespace), field_manager=THEIRS)

    out = api.run(go)
    assert ("data", "colour") in owned(out, OURS)
    assert ("data", "colour") in owned(out, THEIRS)


def test_a_forced_apply_moves_the_field_to_the_new_managers_set(api: Api) -> None:
    async def go(kube: Kube) -> Body:
        await kube.apply(settings(api.namespace, colour="blue", size="L"), field_manager=OURS)
        return await kube.apply(
            settings(api.namespace, colour="red"), field_manager=THEIRS, force=True
        )

    out = api.run(go)
    assert out["data"] == {"colour": "red", "size": "L"}
    assert ("data", "colour") in owned(out, THEIRS)
    assert ("data", "colour") not in owned(out, OURS)
    assert ("data", "size") in owned(out, OURS)


def test_a_field_a_manager_stops_applying_is_removed(api: Api) -> None:
    async def go(kube: Kube) -> Body:
        await kube.apply(settings(api.namespace, colour="blue", size="L"), field_manager=OURS)
        return await kube.apply(settings(api.namespace, colour="blue"), field_manager=OURS)

    out = api.run(go)
    assert out["data"] == {"colour": "blue"}
    assert ("data", "size") not in owned(out, OURS)


def test_an_update_by_another_writer_takes_the_fields_it_changed(api: Api) -> None:
    async def go(kube: Kube) -> Body:
        live = await kube.apply(
            settings(api.namespace, colour="blue", size="L"), field_manager=OURS
        )
        live["data"]["colour"] = "green"
        return await kube.replace(live, field_manager="kubectl-edit")

    out = api.run(go)
    assert ("data", "colour") in leaves(gitward_fields(out, "kubectl-edit"))
    assert ("data", "colour") not in owned(out, OURS)
    assert ("data", "size") in owned(out, OURS)


def test_a_dry_run_changes_nothing(api: Api) -> None:
    async def go(kube: Kube) -> tuple[Body | None, Body, Body, Body | None]:
        res = await configmaps(kube)
        other = {
            **settings(api.namespace),
            "metadata": {"name": "never", "namespace": api.namespace},
        }
        await kube.apply(other, dry_run=True, field_manager=OURS)
        never = await kube.get(res, name="never", namespace=api.namespace)
        before = await kube.apply(settings(api.namespace), field_manager=OURS)
        would = await kube.apply(
            settings(api.namespace, colour="red"), dry_run=True, field_manager=OURS
        )
        after = await kube.get(res, name="settings", namespace=api.namespace)
        return never, before, would, after

    never, before, would, after = api.run(go)
    assert never is None
    assert would["data"] == {"colour": "red"}
    assert after is not None
    assert after["data"] == {"colour": "blue"}
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_a_delete_with_a_wrong_uid_precondition_conflicts_and_keeps_the_object(api: Api) -> None:
    async def go(kube: Kube) -> tuple[Body | None, bool, bool]:
        res = await configmaps(kube)
        live = await kube.apply(settings(api.namespace), field_manager=OURS)
        with pytest.raises(Conflict):
            await kube.delete(res, name="settings", namespace=api.namespace, uid="not-its-uid")
        kept = await kube.get(res, name="settings", namespace=api.namespace)
        deleted = await kube.delete(
            res, name="settings", namespace=api.namespace, uid=live["metadata"]["uid"]
        )
        again = await kube.delete(res, name="settings", namespace=api.namespace)
        return kept, deleted, again

    kept, deleted, again = api.run(go)
    assert kept is not None
    assert deleted is True
    assert again is False  # a 404 on delete is "already gone", not an error


def test_a_list_after_create_has_the_object_and_a_newer_version(api: Api) -> None:
    async def go(kube: Kube) -> tuple[Body, list[Body], str, list[Body]]:
        res = await configmaps(kube)
        live = await kube.apply(settings(api.namespace), field_manager=OURS)
        items, version = await kube.list(res, namespace=api.namespace)
        none, _ = await kube.list(res, namespace=api.namespace, label_selector="app=other")
        return live, items, version, none

    live, items, version, none = api.run(go)
    names = [i["metadata"]["name"] for i in items]
    assert "settings" in names
    assert all(i["kind"] == "ConfigMap" for i in items)
    assert int(version) >= int(live["metadata"]["resourceVersion"])
    assert none == []


def test_create_names_an_object_from_generate_name_and_refuses_a_duplicate(api: Api) -> None:
    async def go(kube: Kube) -> Body:
        body: Body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"generateName": "run-", "namespace": api.namespace},
        }
        made = await kube.create(body)
        with pytest.raises(Conflict):
            await kube.create({**body, "metadata": {**made["metadata"], "resourceVersion": ""}})
        return made

    made = api.run(go)
    assert made["metadata"]["name"].startswith("run-")
    assert len(made["metadata"]["name"]) > len("run-")


def test_a_replace_carrying_a_stale_resource_version_conflicts(api: Api) -> None:
    async def go(kube: Kube) -> None:
        old = await kube.apply(settings(api.namespace), field_manager=OURS)
        await kube.apply(settings(api.namespace, colour="red"), field_manager=OURS)
        with pytest.raises(Conflict):
            await kube.replace(old, field_manager="lease-writer")

    api.run(go)


def test_an_apply_into_a_missing_namespace_is_not_found(api: Api) -> None:
    async def go(kube: Kube) -> None:
        with pytest.raises(NotFound):
            await kube.apply(settings(f"{api.namespace}-missing"), field_manager=OURS)

    api.run(go)


def test_a_watch_sees_added_modified_and_deleted_after_a_version(api: Api) -> None:
    async def go(kube: Kube) -> list[tuple[str, Any]]:
        res = await configmaps(kube)
        _, version = await kube.list(res, namespace=api.namespace)
        seen: list[WatchEvent] = []

        async def follow() -> None:
            async for event in kube.watch(
                res, namespace=api.namespace, resource_version=version, timeout_seconds=20
            ):
                if event.object.get("metadata", {}).get("name") != "settings":
                    continue
                seen.append(event)
                if event.type == "DELETED":
                    return

        watcher = asyncio.create_task(follow())
        await asyncio.sleep(0.2)
        await kube.apply(settings(api.namespace), field_manager=OURS)
        await kube.apply(settings(api.namespace, colour="red"), field_manager=OURS)
        await kube.delete(res, name="settings", namespace=api.namespace)
        await asyncio.wait_for(watcher, timeout=20)
        return [(e.type, (e.object.get("data") or {}).get("colour")) for e in seen]

    assert api.run(go) == [("ADDED", "blue"), ("MODIFIED", "red"), ("DELETED", "red")]


def deployment(namespace: str, image: str) -> Body:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": image,
                            "env": [{"name": "MODE", "value": "git"}],
                            "ports": [{"containerPort": 80}],
                        }
                    ]
                },
            },
        },
    }


def test_keyed_list_items_are_owned_item_by_item_and_selectors_whole(api: Api) -> None:
    async def go(kube: Kube) -> tuple[Body, Body]:
        ours = await kube.apply(deployment(api.namespace, "nginx:1.27"), field_manager=OURS)
        image_only: Body = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": api.namespace},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "x:2"}]}}},
        }
        theirs = await kube.apply(image_only, field_manager=THEIRS, force=True)
        return ours, theirs

    ours, theirs = api.run(go)
    web = 'k:{"name":"web"}'
    assert gitward_fields(ours, OURS) == {
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:containers": {
                        web: {
                            ".": {},
                            "f:env": {'k:{"name":"MODE"}': {".": {}, "f:name": {}, "f:value": {}}},
                            "f:image": {},
                            "f:name": {},
                            "f:ports": {
                                'k:{"containerPort":80,"protocol":"TCP"}': {
                                    ".": {},
                                    "f:containerPort": {},
                                }
                            },
                        }
                    }
                },
            },
        }
    }
    container = ("spec", "template", "spec", "containers", "[name=web]")
    assert (*container, "image") in owned(theirs, THEIRS)
    assert (*container, "image") not in owned(theirs, OURS)
    assert (*container, "env", "[name=MODE]", "value") in owned(theirs, OURS)
    spec = theirs["spec"]["template"]["spec"]["containers"][0]
    assert (spec["image"], spec["env"]) == ("x:2", [{"name": "MODE", "value": "git"}])
