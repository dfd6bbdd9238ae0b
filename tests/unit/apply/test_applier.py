"""apply_plan returns failures as results, against a fake client (no API server)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from gitward.apply.applier import NOT_REACHED, apply_plan
from gitward.apply.changes import Outcome
from gitward.kube import Invalid, Kube, Resource
from gitward.objects import Body, Manifest
from gitward.plan.model import Action, Plan, PlannedObject
from gitward.plan.order import sort_key

CONFIGMAPS = Resource(
    group="",
    version="v1",
    kind="ConfigMap",
    plural="configmaps",
    namespaced=True,
    verbs=frozenset(),
)


class FakeKube:
    """Applies every object but those named in ``refuse``; counts the writes.

    Reads (between waves, for health) see what was applied: a ConfigMap is
    Healthy once it exists.
    """

    def __init__(self, *refuse: str) -> None:
        self.refuse = set(refuse)
        self.applied: list[str] = []
        self.bodies: dict[str, Body] = {}

    async def apply(self, body: Body, **_: Any) -> Body:
        name = body["metadata"]["name"]
        if name in self.refuse:
            raise Invalid(f"ConfigMap/shop/{name}: admission webhook denied the request")
        self.applied.append(name)
        out = {**body, "metadata": {**body["metadata"], "uid": f"uid-{name}"}}
        self.bodies[name] = out
        return out

    async def resource_for(self, api_version: str, kind: str) -> Resource:
        return CONFIGMAPS

    async def get(self, resource: Resource, *, name: str, namespace: str = "") -> Body | None:
        return self.bodies.get(name)

    async def list(self, resource: Resource, *, namespace: str = "") -> tuple[list[Body], str]:
        return list(self.bodies.values()), "1"


def configmap(name: str, wave: int, action: Action = Action.CREATE) -> PlannedObject:
    body: Body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "annotations": {"gitward.io/sync-wave": str(wave)},
        },
    }
    m = Manifest(body=body, source=f"{name}.yaml")
    return PlannedObject(
        ref=m.ref,
        api_version="v1",
        action=action,
        source=m.source,
        sort_key=sort_key(m),
        desired=body,
        live=body if action is Action.UNCHANGED else None,
    )


def plan(*objects: PlannedObject) -> Plan:
    return Plan(app="shop", objects=tuple(sorted(objects, key=lambda o: o.sort_key)))


def test_a_refused_object_is_a_failed_change_and_earlier_waves_stay_created() -> None:
    kube = FakeKube("b")
    p = plan(configmap("a", 0), configmap("b", 1), configmap("c", 2))

    changes, applied = asyncio.run(apply_plan(kube=cast(Kube, kube), plan=p))

    outcomes = [(c.ref.name, c.outcome, c.message) for c in changes.changes]
    assert outcomes == [
        ("a", Outcome.CREATED, ""),
        ("b", Outcome.FAILED, "admission webhook denied the request"),
        ("c", Outcome.SKIPPED, NOT_REACHED),
    ]
    assert kube.applied == ["a"], "a later wave was applied after a failure"
    assert set(applied) == {p.objects[0].ref}


def test_every_failure_of_the_failing_wave_is_reported() -> None:
    kube = FakeKube("b", "c")
    p = plan(configmap("a", 0), configmap("b", 1), configmap("c", 1))

    changes, _ = asyncio.run(apply_plan(kube=cast(Kube, kube), plan=p))

    assert [c.ref.name for c in changes.failed] == ["b", "c"]
    assert changes.wrote


def test_an_unchanged_object_after_a_failure_is_reported_unchanged_not_skipped() -> None:
    kube = FakeKube("a")
    p = plan(configmap("a", 0), configmap("z", 1, Action.UNCHANGED))

    changes, _ = asyncio.run(apply_plan(kube=cast(Kube, kube), plan=p))

    assert [(c.ref.name, c.outcome) for c in changes.changes] == [
        ("a", Outcome.FAILED),
        ("z", Outcome.UNCHANGED),
    ]
