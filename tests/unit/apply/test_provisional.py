"""Creates first, all or none, against the in-memory API server."""

from __future__ import annotations

from gitward.apply.provisional import CreatedFirst, Refused, create_first, provisional
from gitward.kube import Kube
from gitward.kube.fake import FakeApiServer
from gitward.objects import Body, Manifest
from gitward.plan.model import Action, Plan, PlannedObject
from gitward.plan.order import sort_key
from tests.unit.fakecluster import MANAGER, configmap, run, server


def planned(
    body: Body, *, schema_only: bool = True, action: Action = Action.CREATE
) -> PlannedObject:
    m = Manifest(body=body, source=f"{body['metadata']['name']}.yaml")
    return PlannedObject(
        ref=m.ref,
        api_version=body["apiVersion"],
        action=action,
        source=m.source,
        sort_key=sort_key(m),
        desired=body,
        schema_only=schema_only,
    )


def plan_of(*objects: PlannedObject) -> Plan:
    ordered = tuple(sorted(objects, key=lambda o: o.sort_key))
    return Plan(app="shop", objects=ordered, field_manager=MANAGER)


def namespace(name: str) -> Body:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def in_namespace(body: Body, ns: str) -> Body:
    return {**body, "metadata": {**body["metadata"], "namespace": ns}}


def first(srv: FakeApiServer, plan: Plan) -> CreatedFirst | Refused:
    async def go(kube: Kube) -> CreatedFirst | Refused:
        return await create_first(
            kube=kube, plan=plan, concurrency=4, force_conflicts=True, timeout=5.0
        )

    return run(srv, go)


def refuse_named(srv: FakeApiServer, name: str) -> None:
    srv.refuse(
        lambda c: c.verb == "patch" and c.name == name,
        status=422,
        message=f'Deployment.apps "{name}" is invalid: spec.selector: Invalid value',
    )


def test_every_create_succeeding_returns_each_as_created_with_its_body() -> None:
    srv = server()
    done = first(srv, plan_of(planned(configmap("a")), planned(configmap("b"))))

    assert isinstance(done, CreatedFirst)
    assert sorted(r.name for r in done.done) == ["a", "b"]
    assert all(body["metadata"]["uid"] for _, body in done.done.values())
    assert srv.stored("v1", "ConfigMap", "a", "shop") is not None


def test_a_refused_create_deletes_every_object_this_step_created() -> None:
    srv = server()
    refuse_named(srv, "bad")
    objects = [planned(configmap(n)) for n in ("a", "b", "bad", "c")]

    done = first(srv, plan_of(*objects))

    assert isinstance(done, Refused) and done.undone
    assert [(e.ref.name if e.ref else "", e.source) for e in done.errors] == [("bad", "bad.yaml")]
    assert "spec.selector: Invalid value" in done.errors[0].message
    for name in ("a", "b", "c"):
        assert srv.stored("v1", "ConfigMap", name, "shop") is None
    deletes = [c for c in srv.calls if c.verb == "delete"]
    assert sorted(c.name for c in deletes) == ["a", "b", "c"]


def test_an_object_someone_else_made_since_the_plan_is_not_deleted() -> None:
    srv = server()
    refuse_named(srv, "bad")

    async def meanwhile(kube: Kube) -> None:
        await kube.apply(configmap("theirs", tracked=None), field_manager="someone")

    run(srv, meanwhile)
    done = first(srv, plan_of(planned(configmap("theirs")), planned(configmap("bad"))))

    assert isinstance(done, Refused) and done.undone
    assert srv.stored("v1", "ConfigMap", "theirs", "shop") is not None


def test_a_namespace_created_here_goes_with_what_is_in_it_and_first_of_all() -> None:
    srv = server()
    refuse_named(srv, "bad")
    objects = [
        planned(namespace("fresh")),
        planned(in_namespace(configmap("a"), "fresh")),
        planned(in_namespace(configmap("bad"), "fresh")),
        planned(configmap("elsewhere")),
    ]

    done = first(srv, plan_of(*objects))

    assert isinstance(done, Refused) and done.undone
    patched = [c.name for c in srv.calls if c.verb == "patch"]
    assert patched[0] == "fresh"
    assert srv.stored("v1", "Namespace", "fresh") is None
    assert srv.stored("v1", "ConfigMap", "elsewhere", "shop") is None
    # What was in the Namespace went with it: no delete of its own.
    assert sorted(c.name for c in srv.calls if c.verb == "delete") == ["elsewhere", "fresh"]


def test_nothing_is_created_first_unless_some_create_was_checked_by_its_schema_only() -> None:
    dry_run_checked = plan_of(planned(namespace("fresh"), schema_only=False))
    mixed = plan_of(
        planned(namespace("fresh"), schema_only=False),
        planned(configmap("a")),
        planned(configmap("old"), schema_only=False, action=Action.UPDATE),
        planned(configmap("new"), schema_only=False),
    )

    replaced = namespace("whole")
    replaced["metadata"]["annotations"] = {"argocd.argoproj.io/sync-options": "Replace=true"}
    with_replace = plan_of(planned(replaced, schema_only=False), planned(configmap("a")))

    assert provisional(dry_run_checked) == []
    assert sorted(o.ref.name for o in provisional(mixed)) == ["a", "fresh"]
    assert [o.ref.name for o in provisional(with_replace)] == ["a"]
