"""Shards: the stable hash, the fair share, and shard Leases spread over replicas.

The electors run on the in-memory API server. Real time only paces their
rounds (a few milliseconds each); whether a Lease has expired is judged by
each elector's own clock, which the tests move.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from gitward.config.apps import AppSpec
from gitward.heal.leases import LeaseConfig
from gitward.heal.sharding import ShardElector
from gitward.heal.shards import (
    Assignment,
    fair_share,
    group_keys,
    member_lease_name,
    shard_of,
    to_claim,
    to_release,
)
from gitward.kube import Kube
from gitward.kube.fake import FakeApiServer
from tests.unit.fakecluster import server

LEASE = 15.0
SHARDS = 12


# -- the pure part ---------------------------------------------------------------


def test_an_app_keeps_its_shard_whatever_the_process_or_the_order_of_apps() -> None:
    # Fixed expectations: a salted hash() would give other numbers in another process.
    assert [shard_of(f"app-{i}", 12) for i in range(6)] == [
        shard_of(f"app-{i}", 12) for i in range(6)
    ]
    assert (
        shard_of("shop", 12)
        == int.from_bytes(__import__("hashlib").sha256(b"shop").digest()[:8], "big") % 12
    )
    assert shard_of("anything", 1) == 0


def test_a_thousand_apps_spread_over_twelve_shards_within_a_third_of_the_mean() -> None:
    counts = [0] * 12
    for i in range(1000):
        counts[shard_of(f"team-{i}/app", 12)] += 1
    mean = 1000 / 12
    assert all(abs(c - mean) < mean / 3 for c in counts), counts


def test_apps_linked_by_depends_on_share_one_shard_key() -> None:
    apps = [
        AppSpec(name="db", path="db", namespace="db"),
        AppSpec(name="api", path="api", namespace="api", depends_on=("db",)),
        AppSpec(name="web", path="web", namespace="web", depends_on=("api",)),
        AppSpec(name="lonely", path="lonely", namespace="lonely"),
    ]
    keys = group_keys(apps)
    assert keys["db"] == keys["api"] == keys["web"] == min(a.id.key for a in apps[:3])
    assert keys["lonely"] == apps[3].id.key
    assignment = Assignment(count=7, served=frozenset({shard_of(keys["db"], 7)}))
    assert all(assignment.serves(keys[n]) for n in ("db", "api", "web"))


def test_each_replica_may_hold_the_ceiling_of_shards_over_live_replicas() -> None:
    assert fair_share(12, 3) == 4
    assert fair_share(12, 2) == 6
    assert fair_share(5, 3) == 2
    assert fair_share(12, 0) == 12


def test_a_replica_claims_its_own_stretch_first_and_hands_back_its_highest_shards() -> None:
    assert to_claim(free=range(12), held=[], shards=12, rank=1, share=4) == [4, 5, 6, 7]
    assert to_claim(free=[0, 9], held=[4, 5, 6], shards=12, rank=1, share=4) == [9]
    assert to_claim(free=range(12), held=[1, 2, 3, 4], shards=12, rank=0, share=4) == []
    assert to_release(held=[3, 0, 7, 9, 1, 2], share=4) == [7, 9]
    assert to_release(held=[1, 2], share=4) == []


def test_a_member_lease_name_is_a_valid_name_even_for_a_host_and_pid_identity() -> None:
    name = member_lease_name("gitward-controller", "Worker_Host.example_4242")
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name), name
    assert name != member_lease_name("gitward-controller", "worker-host.example-4242")


# -- electors on the in-memory API server ------------------------------------------


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Replica:
    elector: ShardElector
    clock: Clock
    task: asyncio.Task[None] | None = None
    heard: list[frozenset[int]] = field(default_factory=list)

    @property
    def served(self) -> frozenset[int]:
        return self.heard[-1] if self.heard else frozenset()

    async def kill(self) -> None:
        """Cancel without handing anything back, as SIGKILL would leave it."""
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def start(kube: Kube, identity: str) -> Replica:
    config = LeaseConfig(
        name="gitward-controller",
        namespace="gitward-system",
        identity=identity,
        lease_seconds=LEASE,
        renew_every=1.0,  # on the elector's clock
        retry_every=0.005,  # real seconds between rounds
    )
    clock = Clock()
    replica = Replica(ShardElector(kube=kube, config=config, shards=SHARDS, clock=clock), clock)

    async def on_serving(shards: frozenset[int]) -> None:
        replica.heard.append(shards)

    replica.task = asyncio.create_task(replica.elector.run(on_serving=on_serving))
    return replica


def assert_disjoint(replicas: list[Replica]) -> None:
    seen: set[int] = set()
    for r in replicas:
        assert not (seen & r.served), (
            f"a shard served twice: {[sorted(x.served) for x in replicas]}"
        )
        seen |= r.served


async def settle(
    replicas: list[Replica], done: Callable[[], bool], *, what: str, clock_step: float = 0.0
) -> None:
    """Let rounds run (moving the clocks by ``clock_step`` each time) until ``done``;
    no shard may be served by two replicas at any point on the way."""
    for _ in range(400):
        assert_disjoint(replicas)
        if done():
            return
        for r in replicas:
            r.clock.now += clock_step
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}: {[sorted(r.served) for r in replicas]}")


def run(go: Callable[[FakeApiServer, Kube], Awaitable[None]]) -> None:
    srv = server()

    async def main() -> None:
        async with srv.kube() as kube:
            await go(srv, kube)

    asyncio.run(main())


@contextlib.asynccontextmanager
async def replicas(kube: Kube, *names: str) -> AsyncIterator[list[Replica]]:
    crowd = [start(kube, n) for n in names]
    try:
        yield crowd
    finally:
        for r in crowd:
            await r.kill()


def counts(crowd: list[Replica]) -> list[int]:
    return sorted(len(r.served) for r in crowd)


def test_three_replicas_serve_four_of_twelve_shards_each() -> None:
    async def go(srv: FakeApiServer, kube: Kube) -> None:
        async with replicas(kube, "a", "b", "c") as crowd:
            await settle(crowd, lambda: counts(crowd) == [4, 4, 4], what="4 each")
            assert set().union(*(r.served for r in crowd)) == set(range(SHARDS))
            # Every replica, once it listed the Leases again, says who holds what.
            expected = {s: r.elector.identity for r in crowd for s in r.served}
            await settle(
                crowd,
                lambda: all(r.elector.holders == expected for r in crowd),
                what="holders known to all",
            )
            assert all(r.elector.members == ("a", "b", "c") for r in crowd)

    run(go)


def test_the_survivors_take_a_killed_replicas_shards_once_its_leases_expire() -> None:
    async def go(srv: FakeApiServer, kube: Kube) -> None:
        async with replicas(kube, "a", "b", "c") as crowd:
            await settle(crowd, lambda: counts(crowd) == [4, 4, 4], what="4 each")
            dead, *alive = crowd
            before = [r.served for r in alive]
            await dead.kill()
            crowd.remove(dead)
            # Not before a full lease term on the survivors' clocks.
            for _ in range(10):
                for r in alive:
                    r.clock.now += (LEASE - 2) / 10
                await asyncio.sleep(0.01)
            assert [r.served for r in alive] == before
            await settle(alive, lambda: counts(alive) == [6, 6], what="6 each", clock_step=0.25)
            assert set().union(*(r.served for r in alive)) == set(range(SHARDS))
            # Each kept what it had: only the dead one's shards moved.
            assert all(b <= r.served for b, r in zip(before, alive, strict=True))

    run(go)


def test_a_replica_that_joins_gets_its_share_from_the_others() -> None:
    async def go(srv: FakeApiServer, kube: Kube) -> None:
        async with replicas(kube, "a", "b") as crowd:
            await settle(crowd, lambda: counts(crowd) == [6, 6], what="6 each")
            marks = [len(r.heard) - 1 for r in crowd]
            crowd.append(start(kube, "c"))
            await settle(crowd, lambda: counts(crowd) == [4, 4, 4], what="4 each")
            # The two only handed shards back, keeping the rest (settle saw no overlap).
            for r, mark in zip(crowd[:2], marks, strict=True):
                steps = r.heard[mark:]
                assert all(b < a for a, b in itertools.pairwise(steps)), steps

    run(go)


def test_a_released_replica_hands_its_shards_over_at_once() -> None:
    async def go(srv: FakeApiServer, kube: Kube) -> None:
        async with replicas(kube, "a", "b") as crowd:
            await settle(crowd, lambda: counts(crowd) == [6, 6], what="6 each")
            leaving, staying = crowd
            await leaving.elector.release()
            assert leaving.task is not None
            await asyncio.wait_for(leaving.task, timeout=2)
            assert leaving.heard[-1] == frozenset()
            # No clock moves: released Leases (its membership too) are free at once.
            await settle([staying], lambda: len(staying.served) == SHARDS, what="all 12")

    run(go)


def test_a_replica_cut_off_from_the_api_server_drops_its_shards_after_a_lease_term() -> None:
    async def go(srv: FakeApiServer, kube: Kube) -> None:
        async with replicas(kube, "a") as (only,):
            await settle([only], lambda: len(only.served) == SHARDS, what="all 12")
            srv.unavailable = True
            only.clock.now += LEASE - 1
            await asyncio.sleep(0.05)
            assert len(only.served) == SHARDS  # failed renewals alone do not end a term
            only.clock.now += 1.5
            await settle([only], lambda: not only.served, what="shards dropped")
            srv.unavailable = False
            await settle([only], lambda: len(only.served) == SHARDS, what="all 12 again")

    run(go)
