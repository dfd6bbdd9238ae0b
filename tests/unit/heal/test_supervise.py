"""The supervisor: a long-lived task that dies is logged, reported down, and restarted."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from gitward.heal.supervise import Supervisor

log = logging.getLogger("test.supervise")


def fast(*, first: float = 0.05, cap: float = 0.2) -> Supervisor:
    return Supervisor(log=log, first_delay=first, max_delay=cap)


async def until(check: Callable[[], object], timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.005)


def test_a_task_that_dies_is_logged_with_its_traceback_reported_down_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0
    forever = asyncio.Event()

    async def loop() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ValueError("garbage in a record")
        await forever.wait()

    async def main() -> None:
        supervisor = Supervisor(log=log, first_delay=0.3)
        supervisor.start("reconcile loop", loop)
        await until(lambda: supervisor.down)
        assert supervisor.down == {
            "reconcile loop": "reconcile loop: died: ValueError: garbage in a record"
        }
        assert supervisor.running("reconcile loop")
        await until(lambda: calls == 2)
        assert supervisor.down == {}, "up again once restarted"
        await supervisor.close()
        assert not supervisor.running("reconcile loop")

    with caplog.at_level(logging.ERROR, logger="test.supervise"):
        asyncio.run(main())
    [record] = caplog.records
    assert record.getMessage() == (
        "reconcile loop: died: ValueError: garbage in a record; restarting in 0.3s"
    )
    assert record.exc_info is not None and record.exc_info[0] is ValueError


def test_the_delay_doubles_while_a_task_keeps_dying_up_to_the_cap(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def crash() -> None:
        raise RuntimeError("again")

    async def main() -> None:
        supervisor = fast(first=0.01, cap=0.04)
        supervisor.start("watch", crash)
        await until(lambda: len(caplog.records) >= 5)
        await supervisor.close()

    with caplog.at_level(logging.ERROR, logger="test.supervise"):
        asyncio.run(main())
    delays = [r.getMessage().rsplit(" ", 1)[-1] for r in caplog.records[:5]]
    assert delays == ["0.01s", "0.02s", "0.04s", "0.04s", "0.04s"]


def test_a_task_that_returns_is_down_too_and_restarted(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0

    async def returns() -> None:
        nonlocal calls
        calls += 1
        if calls > 1:
            await asyncio.Event().wait()

    async def main() -> None:
        supervisor = fast()
        supervisor.start("leader election", returns)
        await until(lambda: supervisor.down)
        assert supervisor.down == {"leader election": "leader election: ended unexpectedly"}
        await until(lambda: calls == 2 and not supervisor.down)
        await supervisor.close()

    with caplog.at_level(logging.ERROR, logger="test.supervise"):
        asyncio.run(main())
    assert caplog.records[0].exc_info is None


def test_a_stopped_task_is_neither_running_nor_down_and_starting_twice_runs_it_once() -> None:
    started = 0

    async def crash_later() -> None:
        nonlocal started
        started += 1
        await asyncio.sleep(0.01)
        raise RuntimeError("x")

    async def main() -> None:
        supervisor = Supervisor(log=log, first_delay=10)
        supervisor.start("loop", crash_later)
        supervisor.start("loop", crash_later)
        await until(lambda: supervisor.down)
        await supervisor.stop("loop")
        assert supervisor.down == {}
        assert not supervisor.running("loop")

    asyncio.run(main())
    assert started == 1
