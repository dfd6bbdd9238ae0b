"""Leader election on the in-memory API server, with expiry judged by an injected clock.

Real time only paces the retries (a few milliseconds each); whether a lease
has expired is decided by each elector's own clock, which the tests move.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from gitward.heal.leader import LeaderElector
from gitward.heal.leases import LeaseConfig
from gitward.kube import Kube
from gitward.kube.fake import FakeApiServer
from tests.unit.fakecluster import server

T = TypeVar("T")
LEASE = 15.0


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Elector:
    """A running elector, the clock it judges by, and what its callbacks saw."""

    elector: LeaderElector
    clock: Clock
    task: asyncio.Task[None]
    log: list[str] = field(default_factory=list)


def config(identity: str) -> LeaseConfig:
    return LeaseConfig(
        name="gitward-controller",
        namespace="gitward-system",
        identity=identity,
        lease_seconds=LEASE,
        renew_every=0.01,  # real seconds between renewals
        retry_every=0.005,
    )


async def until(check: Callable[[], T], *, what: str, timeout: float = 5.0) -> T:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)
    return value


@contextlib.asynccontextmanager
async def elector(kube: Kube, identity: str) -> AsyncIterator[Elector]:
    clock = Clock()
    e = LeaderElector(kube=kube, config=config(identity), clock=clock)
    log: list[str] = []

    async def started() -> None:
        log.append("started")

    async def stopped() -> None:
        log.append("stopped")

    task = asyncio.create_task(e.run(on_started_leading=started, on_stopped_leading=stopped))
    running = Elector(e, clock, task, log)
    try:
        yield running
    finally:
        await stop(running)


async def stop(e: Elector) -> None:
    """Kill it without releasing the lease, as a crash would."""
    e.task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await e.task


def lease_reads(srv: FakeApiServer) -> int:
    return sum(1 for c in srv.calls if c.kind == "Lease" and c.verb == "get")


def run(go: Callable[[FakeApiServer, Kube], Awaitable[None]]) -> None:
    srv = server()

    async def main() -> None:
        async with srv.kube() as kube:
            await go(srv, kube)

    asyncio.run(main())


def test_a_standby_takes_over_only_after_the_lease_lasts_a_full_term_on_its_own_clock() -> None:
    async def go(srv: FakeApiServer, kube: Kube) -> None:
        async with elector(kube, "a") as a:
            await until(lambda: a.elector.is_leader, what="a to lead")
            await stop(a)  # a dies holding the lease
            async with elector(kube, "b") as b:
                reads = lease_reads(srv)
                # Several looks at the lease (a standby looks at most every 50 ms of real
                # time), none of them a full term after the first on b's clock.
                await until(lambda: lease_reads(srv) > reads + 3, what="b to look again")
                b.clock.advance(LEASE - 1)
                await until(lambda: lease_reads(srv) > reads + 6, what="b to look again")
                assert not b.elector.is_leader
                assert b.elector.holder == "a"
                b.clock.advance(1.5)
                await until(lambda: b.elector.is_leader, what="b to take over")
                assert b.log == ["started"]
        lease = srv.stored(
            "coordination.k8s.io/v1", "Lease", "gitward-controller", "gitward-system"
        )
        assert lease is not None
        assert lease["spec"]["leaseTransitions"] == 1

    run(go)


def test_a_leader_that_cannot_renew_steps_down_once_a_full_term_passes_on_its_clock() -> None:
    async def go(srv: FakeApiServer, kube: Kube) -> None:
        async with elector(kube, "a") as a:
            await until(lambda: a.elector.is_leader, what="a to lead")
            srv.unavailable = True
            calls = len(srv.calls)
            await until(lambda: len(srv.calls) > calls + 20, what="renewals to fail")
            assert a.elector.is_leader  # failed renewals alone do not end a term
            a.clock.advance(LEASE)
            await until(lambda: not a.elector.is_leader, what="a to step down")
            assert a.log == ["started", "stopped"]
            assert not a.elector.in_contact()

    run(go)


def test_a_released_lease_is_taken_over_at_once_without_waiting_for_expiry() -> None:
    async def go(srv: FakeApiServer, kube: Kube) -> None:
        async with elector(kube, "a") as a:
            await until(lambda: a.elector.is_leader, what="a to lead")
            async with elector(kube, "b") as b:
                await until(lambda: b.elector.holder == "a", what="b to see a")
                await a.elector.release()
                await until(lambda: b.elector.is_leader, what="b to take over")
                assert a.log == ["started", "stopped"]
                assert b.clock.now == Clock().now  # no time passed on b's clock

    run(go)


def test_two_standbys_racing_for_an_expired_lease_leave_exactly_one_leader() -> None:
    async def go(srv: FakeApiServer, kube: Kube) -> None:
        async with elector(kube, "a") as a:
            await until(lambda: a.elector.is_leader, what="a to lead")
            await stop(a)
            async with elector(kube, "b") as b, elector(kube, "c") as c:
                await until(
                    lambda: b.elector.holder == "a" and c.elector.holder == "a",
                    what="both to see a",
                )
                b.clock.advance(LEASE + 1)
                c.clock.advance(LEASE + 1)
                await until(lambda: b.elector.is_leader or c.elector.is_leader, what="a new leader")
                await asyncio.sleep(0.1)  # time for a wrong second winner to show
                assert [b.elector.is_leader, c.elector.is_leader].count(True) == 1

    run(go)
