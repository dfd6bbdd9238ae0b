"""Many apps at once: bounded, dependsOn kept, a blocked dependent skipped with its reason."""

from __future__ import annotations

import asyncio

import pytest

from gitward.config.apps import AppSpec
from gitward.heal.scheduling import Blocker, dependency_blocker, reconcile_in_order
from gitward.heal.state import AppState
from gitward.health import Health, HealthStatus
from gitward.status import SyncState


def app(name: str, *deps: str) -> AppSpec:
    return AppSpec(name=name, path=name, namespace=name, depends_on=deps)


def test_independent_apps_run_at_once_but_never_more_than_the_limit() -> None:
    running, peak, finished = 0, 0, []

    async def reconcile(spec: AppSpec) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        finished.append(spec.name)

    specs = [app(f"a{i}") for i in range(20)]
    asyncio.run(
        reconcile_in_order(
            specs,
            reconcile,
            limit=4,
            blocker=lambda _: Blocker(),
            skip=lambda *_: None,
            settle_timeout=1,
        )
    )
    assert peak == 4
    assert sorted(finished) == sorted(s.name for s in specs)


def test_a_dependent_starts_only_once_its_dependency_is_synced_and_healthy() -> None:
    events: list[str] = []
    healthy: set[str] = set()

    async def reconcile(spec: AppSpec) -> None:
        events.append(f"start {spec.name}")
        await asyncio.sleep(0.01)
        events.append(f"end {spec.name}")
        if spec.name == "db":
            # Healthy a little after its sync ended, as Pods become Ready later.
            asyncio.get_running_loop().call_later(0.1, healthy.add, "db")

    def blocker(dep: str) -> Blocker:
        return Blocker() if dep in healthy else Blocker("is Progressing")

    asyncio.run(
        reconcile_in_order(
            [app("db"), app("web", "db"), app("other")],
            reconcile,
            limit=8,
            blocker=blocker,
            skip=lambda *_: None,
            settle_timeout=5,
            poll=0.01,
        )
    )
    assert events.index("start web") > events.index("end db")
    # The independent app did not wait for db.
    assert events.index("start other") < events.index("end db")


def test_a_dependent_of_a_failed_app_is_skipped_and_says_why() -> None:
    started: list[str] = []
    skipped: dict[str, str] = {}

    async def reconcile(spec: AppSpec) -> None:
        started.append(spec.name)

    asyncio.run(
        reconcile_in_order(
            [app("db"), app("web", "db")],
            reconcile,
            limit=2,
            blocker=lambda dep: Blocker("is OutOfSync: quota exceeded", final=True),
            skip=lambda spec, why: skipped.__setitem__(spec.name, why),
            settle_timeout=5,
        )
    )
    assert started == ["db"]
    assert skipped == {
        "web": "app web: not synced: it depends on db, which is OutOfSync: quota exceeded"
    }


def test_a_dependency_that_stays_unhealthy_skips_its_dependent_after_the_settle_time() -> None:
    skipped: dict[str, str] = {}

    async def reconcile(spec: AppSpec) -> None:
        return None

    asyncio.run(
        reconcile_in_order(
            [app("db"), app("web", "db")],
            reconcile,
            limit=2,
            blocker=lambda dep: Blocker("is Degraded"),
            skip=lambda spec, why: skipped.__setitem__(spec.name, why),
            settle_timeout=0.05,
            poll=0.01,
        )
    )
    assert skipped["web"].endswith("it depends on db, which is Degraded")


def test_one_app_raising_lets_the_others_finish_then_raises() -> None:
    finished: list[str] = []

    async def reconcile(spec: AppSpec) -> None:
        if spec.name == "bad":
            raise RuntimeError("bug")
        await asyncio.sleep(0.01)
        finished.append(spec.name)

    with pytest.raises(RuntimeError, match="bug"):
        asyncio.run(
            reconcile_in_order(
                [app("bad"), app("a"), app("b")],
                reconcile,
                limit=1,
                blocker=lambda _: Blocker(),
                skip=lambda *_: None,
                settle_timeout=1,
            )
        )
    assert sorted(finished) == ["a", "b"]


def test_a_dependency_lets_others_start_only_when_synced_and_healthy() -> None:
    state = AppState(spec=app("db"), sync=SyncState.OUT_OF_SYNC, message="quota exceeded")
    assert dependency_blocker(state, None) == Blocker("is OutOfSync: quota exceeded", final=True)
    state.sync, state.message = SyncState.SYNCED, ""
    progressing = Health(HealthStatus.PROGRESSING)
    assert dependency_blocker(state, progressing) == Blocker("is Progressing")
    assert dependency_blocker(state, Health(HealthStatus.HEALTHY)) == Blocker()
    assert dependency_blocker(None, None).final


def test_apps_sharing_a_namespace_take_turns_in_the_order_given() -> None:
    events: list[str] = []

    async def reconcile(spec: AppSpec) -> None:
        events.append(f"start {spec.name}")
        await asyncio.sleep(0.01)
        events.append(f"end {spec.name}")

    specs = [
        AppSpec(name="a", path="a", namespace="shop"),
        AppSpec(name="b", path="b", namespace="shop"),
        AppSpec(name="c", path="c", namespace="other"),
    ]
    asyncio.run(
        reconcile_in_order(
            specs,
            reconcile,
            limit=8,
            blocker=lambda _: Blocker(),
            skip=lambda *_: None,
            settle_timeout=1,
        )
    )
    assert events.index("start b") > events.index("end a")
    assert events.index("start c") < events.index("end a")
