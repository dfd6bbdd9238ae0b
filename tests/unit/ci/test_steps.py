"""Steps as a run reports them: their own durations, and a total that is the run's wall time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from gitward.ci.records import BuildRecord, Step
from gitward.ci.steps import Clock, Timed


def test_steps_that_ran_side_by_side_keep_their_durations_and_the_total_is_wall_time() -> None:
    seen: list[Step] = []
    clock = Clock(seen.append)
    clock.beside("publish-oci", 0.3, "pushed")
    clock.beside("publish-repository", 0.2, "uploaded")
    clock.done("package", "hello-1.0.0.tgz")
    assert [s.name for s in seen] == ["publish-oci", "publish-repository", "package"]
    record = BuildRecord(
        commit="c" * 40,
        version="1.0.0",
        source="s",
        dirty=False,
        image="r/h:1.0.0@sha256:" + "d" * 64,
        chart=None,
        steps=tuple(seen),
        total=0.35,
    )
    timings = record.to_dict()["timings"]
    assert timings["publish-oci"] == 0.3
    assert timings["total"] == 0.35  # not 0.5 and more: the two overlapped


def test_a_call_beside_gives_its_error_to_whoever_asks_for_its_result() -> None:
    def fails() -> int:
        raise ValueError("broken chart")

    with ThreadPoolExecutor(max_workers=1) as pool:
        running = Timed(pool, fails)
        assert isinstance(running.error(), ValueError)
        with pytest.raises(ValueError, match="broken chart"):
            running.result()
        assert running.seconds >= 0.0
        assert Timed(pool, lambda: 7).result() == 7
