"""The tracker: what each app manages, kept by app, and the events parked meanwhile."""

from __future__ import annotations

from typing import Any

from gitward.config.apps import AppSpec
from gitward.config.identity import TRACKING_ANNOTATION
from gitward.heal.tracking import Tracker
from gitward.kube import Kube
from gitward.objects import Body, ObjectRef
from gitward.plan.model import Action, Plan, PlannedObject
from gitward.plan.order import SortKey
from tests.unit.fakecluster import run, server


def spec(app: str) -> AppSpec:
    return AppSpec(name=app, path=app, namespace=app)


def configmap(app: str, name: str) -> Body:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": app,
            "annotations": {TRACKING_ANNOTATION: spec(app).id.tracking_id},
        },
        "data": {"k": name},
    }


def plan(app: str, *names: str) -> Plan:
    objects = []
    for name in names:
        body = configmap(app, name)
        objects.append(
            PlannedObject(
                ref=ObjectRef.of(body),
                api_version="v1",
                action=Action.CREATE,
                source="cm.yaml",
                sort_key=SortKey(1, 2, 0, 10, "ConfigMap", app, name),
                desired=body,
            )
        )
    return Plan(app=app, objects=tuple(objects))


def ref(app: str, name: str) -> ObjectRef:
    return ObjectRef.of(configmap(app, name))


def tracking(fn: Any) -> None:
    """``fn(tracker)`` with a tracker whose watches are open on the in-memory API server."""

    async def go(kube: Kube) -> None:
        tracker = Tracker(kube=kube)

        async def on_event(kind: str, body: Body) -> None:
            return None

        tracker.open(on_event=on_event, on_restart=lambda _: None)
        try:
            await fn(tracker)
        finally:
            await tracker.close()

    run(server("a", "b"), go)


def test_an_apps_objects_it_no_longer_manages_are_no_longer_tracked() -> None:
    async def check(tracker: Tracker) -> None:
        await tracker.track(spec("a"), plan("a", "one", "two", "three"), None)
        await tracker.track(spec("a"), plan("a", "two"), None)
        assert set(tracker.objects) == {ref("a", "two")}
        assert [t.ref for t in tracker.of_app("a")] == [ref("a", "two")]

    tracking(check)


def test_tracking_one_app_leaves_another_apps_objects_alone() -> None:
    async def check(tracker: Tracker) -> None:
        await tracker.track(spec("a"), plan("a", "one"), None)
        await tracker.track(spec("b"), plan("b", "one", "two"), None)
        kept = tracker.objects[ref("b", "two")]
        await tracker.track(spec("a"), plan("a"), None)
        assert set(tracker.objects) == {ref("b", "one"), ref("b", "two")}
        assert tracker.of_app("a") == []
        assert tracker.objects[ref("b", "two")] is kept
        assert {t.ref for t in tracker.of_app("b")} == {ref("b", "one"), ref("b", "two")}

    tracking(check)


def test_letting_go_of_apps_keeps_only_the_others_objects() -> None:
    async def check(tracker: Tracker) -> None:
        await tracker.track(spec("a"), plan("a", "one"), None)
        await tracker.track(spec("b"), plan("b", "one"), None)
        tracker.keep_only(["b"])
        assert set(tracker.objects) == {ref("b", "one")}
        assert tracker.of_app("a") == []
        # Tracked again later, it is tracked as new.
        await tracker.track(spec("a"), plan("a", "one"), None)
        assert set(tracker.objects) == {ref("a", "one"), ref("b", "one")}

    tracking(check)


def test_parked_events_are_found_for_their_app_only() -> None:
    async def check(tracker: Tracker) -> None:
        await tracker.track(spec("a"), plan("a", "one"), None)
        await tracker.track(spec("b"), plan("b", "one"), None)
        tracker.parked[ref("a", "one")] = ("MODIFIED", configmap("a", "one"))
        tracker.parked[ref("b", "one")] = ("MODIFIED", configmap("b", "one"))
        assert tracker.parked_refs("a") == [ref("a", "one")]
        assert tracker.parked_refs("b") == [ref("b", "one")]
        assert tracker.parked_refs("c") == []

    tracking(check)


def test_an_event_parked_during_a_sync_becomes_the_live_state_of_what_it_tracks() -> None:
    async def check(tracker: Tracker) -> None:
        seen = configmap("a", "two")
        seen["data"] = {"k": "changed"}
        tracker.parked[ref("a", "two")] = ("ADDED", seen)
        # An event of an object the sync no longer makes: dropped with the sync's end.
        tracker.parked[ref("a", "gone")] = ("ADDED", configmap("a", "gone"))
        await tracker.track(spec("a"), plan("a", "two"), None)
        live = tracker.objects[ref("a", "two")].live
        assert live is not None and live["data"] == {"k": "changed"}
        assert tracker.parked_refs("a") == [ref("a", "two")]
        assert ref("a", "gone") not in tracker.parked

    tracking(check)


def test_an_object_taken_over_by_another_app_is_tracked_for_the_new_app_only() -> None:
    async def check(tracker: Tracker) -> None:
        moved = plan("a", "one")
        await tracker.track(spec("a"), moved, None)
        await tracker.track(spec("b"), moved, None)
        assert tracker.objects[ref("a", "one")].app == "b"
        await tracker.track(spec("a"), plan("a"), None)
        assert [t.ref for t in tracker.of_app("b")] == [ref("a", "one")]
        assert tracker.objects[ref("a", "one")].app == "b"

    tracking(check)


def test_the_apps_changed_since_a_count_are_those_tracked_or_let_go_of_since() -> None:
    async def check(tracker: Tracker) -> None:
        await tracker.track(spec("a"), plan("a", "one"), None)
        await tracker.track(spec("b"), plan("b", "one"), None)
        seen = tracker.changes
        assert tracker.changed_since(seen) == []
        await tracker.track(spec("a"), plan("a", "one", "two"), None)
        assert tracker.changed_since(seen) == ["a"]
        tracker.keep_only(["a"])
        assert tracker.changed_since(seen) == ["b", "a"]
        assert tracker.changed_since(-1) == ["b", "a"]

    tracking(check)
