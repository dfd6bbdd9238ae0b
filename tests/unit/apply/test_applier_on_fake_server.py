"""The applier against the in-memory API server: order, waves, prune, failures, CRDs, recreate."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from gitward.apply.applier import ApplyOptions, apply_plan
from gitward.apply.changes import ChangeSet, Outcome
from gitward.kube import Kube
from gitward.kube.fake import Call, FakeApiServer
from gitward.objects import Body, Manifest
from gitward.plan.annotations import GITWARD_RECREATE as RECREATE_ANNOTATION
from gitward.plan.inventory import Inventory, InventoryEntry
from gitward.plan.model import Action, Plan
from gitward.plan.planner import build_plan
from tests.unit.fakecluster import APP, Step, configmap, manifests, run, seed, server, writes

ONE_AT_A_TIME = ApplyOptions(concurrency=1)


def deployment(name: str, image: str = "nginx:1.27", **annotations: str) -> Body:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop", "annotations": annotations},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": image}]},
            },
        },
    }


def waved(body: Body, wave: int) -> Body:
    body["metadata"].setdefault("annotations", {})["gitward.io/sync-wave"] = str(wave)
    return body


def entry(kind: str, name: str, uid: str, group: str = "") -> InventoryEntry:
    return InventoryEntry(
        group=group, kind=kind, namespace="shop", name=name, version="v1", uid=uid
    )


def plan_and_apply(
    srv: FakeApiServer,
    desired: tuple[Manifest, ...],
    *,
    before: tuple[Step, ...] = (),
    inventory: Callable[[dict[str, Body]], Inventory | None] = lambda _: None,
    options: ApplyOptions = ONE_AT_A_TIME,
) -> tuple[Plan, ChangeSet, list[Call]]:
    """Seed ``before``, plan ``desired``, apply it; returns the writes the apply made."""

    async def go(kube: Kube) -> tuple[Plan, ChangeSet, list[Call]]:
        live = await seed(kube, before)
        plan = await build_plan(
            kube=kube, app=APP, manifests=desired, inventory=inventory(live), force_conflicts=True
        )
        assert not plan.errors, plan.errors
        start = len(srv.calls)
        changes, _ = await apply_plan(kube=kube, plan=plan, options=options)
        return plan, changes, writes(srv.calls[start:])

    return run(srv, go)


def written(calls: list[Call]) -> list[str]:
    return [f"{c.verb} {c.kind}/{c.name}" for c in calls]


def test_objects_are_written_by_stage_then_wave_then_kind() -> None:
    service: Body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {}}
    desired = manifests(
        waved(deployment("web"), 1),
        service,
        configmap("settings", colour="blue"),
        waved(configmap("early", colour="blue"), -1),
        waved(configmap("late", colour="blue"), 1),
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "web"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "extra"}},
    )
    _, changes, calls = plan_and_apply(server(), desired)
    assert written(calls) == [
        "patch Namespace/extra",
        "patch ConfigMap/early",
        "patch ServiceAccount/web",
        "patch ConfigMap/settings",
        "patch Service/web",
        "patch ConfigMap/late",
        "patch Deployment/web",
    ]
    assert changes.count(Outcome.CREATED) == 7


def test_a_later_wave_waits_until_the_earlier_one_is_healthy() -> None:
    srv = server()
    plan_desired = manifests(deployment("db"), waved(configmap("app", colour="blue"), 1))

    async def go(kube: Kube) -> None:
        plan = await build_plan(kube=kube, app=APP, manifests=plan_desired, inventory=None)
        applying = asyncio.create_task(apply_plan(kube=kube, plan=plan, options=ONE_AT_A_TIME))
        while srv.stored("apps/v1", "Deployment", "db", "shop") is None:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.3)  # several health reads: the Deployment is not available
        assert srv.stored("v1", "ConfigMap", "app", "shop") is None
        assert not applying.done()
        db = srv.stored("apps/v1", "Deployment", "db", "shop")
        assert db is not None
        generation = db["metadata"]["generation"]
        srv.set_status(
            "apps/v1",
            "Deployment",
            "db",
            "shop",
            {
                "observedGeneration": generation,
                "replicas": 1,
                "updatedReplicas": 1,
                "availableReplicas": 1,
            },
        )
        await asyncio.wait_for(applying, timeout=5)
        assert srv.stored("v1", "ConfigMap", "app", "shop") is not None

    run(srv, go)


def test_an_unchanged_plan_writes_nothing() -> None:
    srv = server()
    body = configmap("settings", colour="blue")
    plan, changes, calls = plan_and_apply(
        srv,
        manifests(body),
        before=(Step("gitward/shop", body),),
        inventory=lambda live: Inventory(
            app="shop",
            entries=(entry("ConfigMap", "settings", live["settings"]["metadata"]["uid"]),),
        ),
    )
    assert plan.in_sync
    assert calls == []
    assert [c.outcome for c in changes.changes] == [Outcome.UNCHANGED]


def test_prune_runs_after_every_apply_in_reverse_order() -> None:
    old_cm, old_web = configmap("old-settings", colour="blue"), deployment("old-web")
    _, changes, calls = plan_and_apply(
        server(),
        manifests(configmap("settings", colour="blue")),
        before=(Step("gitward/shop", old_cm), Step("gitward/shop", old_web)),
        inventory=lambda live: Inventory(
            app="shop",
            entries=(
                entry("ConfigMap", "old-settings", live["old-settings"]["metadata"]["uid"]),
                entry("Deployment", "old-web", live["old-web"]["metadata"]["uid"], group="apps"),
            ),
        ),
    )
    assert written(calls) == [
        "patch ConfigMap/settings",
        "delete Deployment/old-web",
        "delete ConfigMap/old-settings",
    ]
    assert changes.count(Outcome.PRUNED) == 2


def test_a_refused_object_is_a_failed_change_and_later_waves_are_not_written() -> None:
    srv = server()
    srv.refuse(
        lambda c: c.verb == "patch" and c.name == "early" and not c.dry_run,
        status=422,
        message='ConfigMap "early" is invalid: data: Too long',
    )
    desired = manifests(
        waved(configmap("early", colour="blue"), -1), configmap("settings", colour="blue")
    )
    _, changes, calls = plan_and_apply(srv, desired)
    assert [(c.ref.name, c.outcome) for c in changes.changes] == [
        ("early", Outcome.FAILED),
        ("settings", Outcome.SKIPPED),
    ]
    assert "Too long" in changes.failed[0].message
    assert written(calls) == ["patch ConfigMap/early"]
    assert srv.stored("v1", "ConfigMap", "settings", "shop") is None


def test_a_refused_prune_is_a_failed_change_after_everything_else_is_applied() -> None:
    srv = server()
    srv.refuse(lambda c: c.verb == "delete", status=403, message="no deleting today")
    old = configmap("old", colour="blue")
    _, changes, _ = plan_and_apply(
        srv,
        manifests(configmap("settings", colour="blue")),
        before=(Step("gitward/shop", old),),
        inventory=lambda live: Inventory(
            app="shop", entries=(entry("ConfigMap", "old", live["old"]["metadata"]["uid"]),)
        ),
    )
    assert [(c.ref.name, c.outcome, c.message) for c in changes.failed] == [
        ("old", Outcome.FAILED, "no deleting today")
    ]
    assert srv.stored("v1", "ConfigMap", "settings", "shop") is not None
    assert srv.stored("v1", "ConfigMap", "old", "shop") is not None


def test_a_custom_resource_is_applied_once_its_definition_is_established() -> None:
    crd: Body = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [{"name": "v1", "served": True, "storage": True}],
        },
    }
    widget: Body = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 3},
    }
    srv = server()
    plan, _, calls = plan_and_apply(srv, manifests(widget, crd))
    assert [o.reason for o in plan.objects if o.ref.kind == "Widget"] == [
        "validated after its CustomResourceDefinition is established"
    ]
    assert written(calls) == [
        "patch CustomResourceDefinition/widgets.example.com",
        "patch Widget/w",
    ]
    stored = srv.stored("example.com/v1", "Widget", "w", "shop")
    assert stored is not None
    assert stored["spec"] == {"size": 3}


def test_an_immutable_change_recreates_an_object_annotated_to_allow_it() -> None:
    srv = server()
    old = deployment("web", "nginx:1.27", **{RECREATE_ANNOTATION: "true"})
    new = deployment("web", "nginx:1.28", **{RECREATE_ANNOTATION: "true"})
    # The fake validates nothing: say what the real server says of a changed selector.
    srv.refuse(
        lambda c: c.verb == "patch" and c.dry_run,
        status=422,
        message='Deployment.apps "web" is invalid: spec.selector: field is immutable',
    )
    uid_before = ""

    def inventory(live: dict[str, Body]) -> Inventory:
        nonlocal uid_before
        uid_before = live["web"]["metadata"]["uid"]
        return Inventory(app="shop", entries=(entry("Deployment", "web", uid_before, "apps"),))

    plan, changes, calls = plan_and_apply(
        srv, manifests(new), before=(Step("gitward/shop", old),), inventory=inventory
    )
    assert [o.action for o in plan.objects] == [Action.RECREATE]
    assert written(calls) == ["delete Deployment/web", "patch Deployment/web"]
    assert [c.outcome for c in changes.changes] == [Outcome.RECREATED]
    stored = srv.stored("apps/v1", "Deployment", "web", "shop")
    assert stored is not None
    assert stored["metadata"]["uid"] != uid_before
