"""Leader election on a real Lease: one leader, fast takeover, graceful handover."""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from gitward.heal.leader import LeaderElector
from gitward.heal.leases import LEASE_API_VERSION, LeaseConfig
from gitward.kube import Kube, Resource, Unavailable
from gitward.objects import Body
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import REPO_ROOT

LEASE = 2.0  # short, so that expiry tests take seconds
FAST = {"lease_seconds": LEASE, "renew_every": 0.5, "retry_every": 0.5}
TAKEOVER_BOUND = LEASE + 3.0
HANDOVER_BOUND = 2.0


def lease_name() -> str:
    return f"lease-{uuid.uuid4().hex[:8]}"


@dataclass
class Contender:
    """One elector running as a task, and when its callbacks fired (monotonic)."""

    elector: LeaderElector
    task: asyncio.Task[None] | None = None
    started: list[float] = field(default_factory=list)
    stopped: list[float] = field(default_factory=list)

    @property
    def identity(self) -> str:
        return self.elector.identity

    def start(self) -> None:
        async def started() -> None:
            self.started.append(time.monotonic())

        async def stopped() -> None:
            self.stopped.append(time.monotonic())

        self.task = asyncio.create_task(
            self.elector.run(on_started_leading=started, on_stopped_leading=stopped)
        )

    async def kill(self) -> None:
        """Cancel the task without releasing the lease, as SIGKILL would leave it."""
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@asynccontextmanager
async def contenders(
    cluster: Cluster,
    *,
    name: str,
    namespace: str,
    count: int = 2,
    kube_type: type[Kube] = Kube,
) -> AsyncIterator[list[Contender]]:
    """``count`` electors on the same Lease, each with its own connection."""
    kubes = [kube_type(cluster.config) for _ in range(count)]
    crowd = [
        Contender(
            LeaderElector(
                kube=kube,
                config=LeaseConfig(name=name, namespace=namespace, identity=f"c{i}", **FAST),
            )
        )
        for i, kube in enumerate(kubes)
    ]
    for c in crowd:
        c.start()
    try:
        yield crowd
    finally:
        for c in crowd:
            await c.kill()
        for kube in kubes:
            await kube.aclose()


async def eventually(check: Callable[[], bool], *, timeout: float, what: str) -> float:
    """Wait for ``check``; returns the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)
    return time.monotonic()


async def the_leader(crowd: list[Contender], *, timeout: float = 15.0) -> Contender:
    await eventually(
        lambda: any(c.elector.is_leader for c in crowd), timeout=timeout, what="a leader"
    )
    (leader,) = [c for c in crowd if c.elector.is_leader]
    return leader


async def read_lease(kube: Kube, *, name: str, namespace: str) -> Body:
    res = await kube.resource_for(LEASE_API_VERSION, "Lease")
    assert res is not None
    lease = await kube.get(res, name=name, namespace=namespace)
    assert lease is not None, f"Lease/{namespace}/{name} does not exist"
    return lease


def test_exactly_one_of_two_electors_leads(cluster: Cluster, namespace: str) -> None:
    name = lease_name()

    async def go(kube: Kube) -> None:
        async with contenders(cluster, name=name, namespace=namespace) as crowd:
            leader = await the_leader(crowd)
            # Several lease periods: renewals keep the same single leader.
            end = time.monotonic() + 2.5 * LEASE
            while time.monotonic() < end:
                assert [c for c in crowd if c.elector.is_leader] == [leader]
                await asyncio.sleep(0.05)
            standby = next(c for c in crowd if c is not leader)
            assert standby.started == []
            spec = (await read_lease(kube, name=name, namespace=namespace))["spec"]
            assert spec["holderIdentity"] == leader.identity
            assert spec["leaseDurationSeconds"] == 2
            assert spec["leaseTransitions"] == 0
            assert spec["renewTime"].endswith("Z") and len(spec["renewTime"]) == 27

    cluster.call(go)


def test_standby_takes_over_after_leader_vanishes_without_release(
    cluster: Cluster, namespace: str
) -> None:
    name = lease_name()

    async def go(kube: Kube) -> None:
        async with contenders(cluster, name=name, namespace=namespace) as crowd:
            leader = await the_leader(crowd)
            standby = next(c for c in crowd if c is not leader)
            await asyncio.sleep(1.0)  # let the standby see a renewal or two
            await leader.kill()
            killed_at = time.monotonic()
            took_over = await eventually(
                lambda: standby.elector.is_leader, timeout=TAKEOVER_BOUND + 5, what="takeover"
            )
            assert took_over - killed_at < TAKEOVER_BOUND
            spec = (await read_lease(kube, name=name, namespace=namespace))["spec"]
            assert spec["holderIdentity"] == standby.identity
            assert spec["leaseTransitions"] == 1

    cluster.call(go)


def test_release_hands_over_at_once(cluster: Cluster, namespace: str) -> None:
    name = lease_name()

    async def go(kube: Kube) -> None:
        async with contenders(cluster, name=name, namespace=namespace) as crowd:
            leader = await the_leader(crowd)
            standby = next(c for c in crowd if c is not leader)
            before = (await read_lease(kube, name=name, namespace=namespace))["spec"]
            released_at = time.monotonic()
            await leader.elector.release()
            assert not leader.elector.is_leader
            took_over = await eventually(
                lambda: standby.elector.is_leader, timeout=10, what="handover"
            )
            assert took_over - released_at < HANDOVER_BOUND
            # run() returns after release, having told its owner it stopped leading.
            assert leader.task is not None
            await asyncio.wait_for(leader.task, timeout=2)
            assert len(leader.stopped) == 1
            after = (await read_lease(kube, name=name, namespace=namespace))["spec"]
            assert after["holderIdentity"] == standby.identity
            assert after["leaseTransitions"] == before["leaseTransitions"] + 1
            assert after["leaseDurationSeconds"] == 2

    cluster.call(go)


def test_leader_steps_down_when_another_holder_writes_the_lease(
    cluster: Cluster, namespace: str
) -> None:
    name = lease_name()

    async def go(kube: Kube) -> None:
        async with contenders(cluster, name=name, namespace=namespace, count=1) as (only,):
            await the_leader([only])
            lease = await read_lease(kube, name=name, namespace=namespace)
            lease["spec"]["holderIdentity"] = "intruder"
            await kube.replace(lease)
            await eventually(
                lambda: not only.elector.is_leader, timeout=LEASE + 2, what="step down"
            )
            assert len(only.stopped) == 1
            # The intruder never renews: once its lease runs out, ours again.
            await eventually(
                lambda: only.elector.is_leader, timeout=TAKEOVER_BOUND + 2, what="re-acquire"
            )
            assert only.task is not None and not only.task.done()
            spec = (await read_lease(kube, name=name, namespace=namespace))["spec"]
            assert spec["holderIdentity"] == only.identity
            assert spec["leaseTransitions"] == 1

    cluster.call(go)


class FlakyKube(Kube):
    """A real client that can be cut off from the API server, as a partition would."""

    cut = False

    async def get(self, resource: Resource, *, name: str, namespace: str = "") -> Body | None:
        if FlakyKube.cut:
            raise Unavailable("API server unreachable (cut by the test)")
        return await super().get(resource, name=name, namespace=namespace)

    async def replace(self, body: Body, **kw: Any) -> Body:
        if FlakyKube.cut:
            raise Unavailable("API server unreachable (cut by the test)")
        return await super().replace(body, **kw)


def test_leader_steps_down_when_it_cannot_renew_for_a_lease_period(
    cluster: Cluster, namespace: str
) -> None:
    name = lease_name()
    FlakyKube.cut = False

    async def go(kube: Kube) -> None:
        async with contenders(
            cluster, name=name, namespace=namespace, count=1, kube_type=FlakyKube
        ) as (only,):
            await the_leader([only])
            FlakyKube.cut = True
            cut_at = time.monotonic()
            try:
                stepped_down = await eventually(
                    lambda: not only.elector.is_leader, timeout=LEASE + 3, what="step down"
                )
            finally:
                FlakyKube.cut = False
            # Never before the lease could have run out, and not long after.
            assert LEASE - 1.0 <= stepped_down - cut_at < LEASE + 1.0
            assert len(only.stopped) == 1
            assert only.task is not None and not only.task.done(), "no exception escapes"
            await eventually(lambda: only.elector.is_leader, timeout=5, what="re-acquire")

    cluster.call(go)


def test_lease_namespace_is_created_when_missing(cluster: Cluster, namespace: str) -> None:
    name, lease_ns = lease_name(), f"{namespace}-lease"

    async def go(kube: Kube) -> None:
        async with contenders(cluster, name=name, namespace=lease_ns) as crowd:
            leader = await the_leader(crowd)
            spec = (await read_lease(kube, name=name, namespace=lease_ns))["spec"]
            assert spec["holderIdentity"] == leader.identity

    try:
        cluster.call(go)
    finally:
        cluster.delete("v1", "Namespace", lease_ns)


_ELECTOR_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from gitward.heal.leader import LeaderElector
    from gitward.heal.leases import LeaseConfig
    from gitward.kube import Kube

    async def main() -> None:
        config = LeaseConfig(
            name=sys.argv[1], namespace=sys.argv[2],
            lease_seconds=float(sys.argv[3]), renew_every=0.5, retry_every=0.5,
        )

        async def started() -> None:
            print("LEADING", flush=True)

        async def stopped() -> None:
            print("STANDBY", flush=True)

        async with Kube.connect() as kube:
            print("STANDBY", flush=True)
            elector = LeaderElector(kube=kube, config=config)
            await elector.run(on_started_leading=started, on_stopped_leading=stopped)

    asyncio.run(main())
    """
)


@dataclass(frozen=True)
class Line:
    proc: int
    text: str
    at: float


@contextmanager
def electors_in_processes(
    cluster: Cluster, *, name: str, namespace: str, count: int
) -> Iterator[tuple[list[subprocess.Popen[str]], queue.Queue[Line]]]:
    lines: queue.Queue[Line] = queue.Queue()
    env = {**os.environ, "KUBECONFIG": cluster.dev.kubeconfig}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _ELECTOR_SCRIPT, name, namespace, str(LEASE)],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(count)
    ]

    def pump(index: int, stream: IO[str]) -> None:
        for raw in stream:
            lines.put(Line(index, raw.strip(), time.monotonic()))

    threads = []
    for i, proc in enumerate(procs):
        assert proc.stdout is not None
        thread = threading.Thread(target=pump, args=(i, proc.stdout), daemon=True)
        thread.start()
        threads.append(thread)
    try:
        yield procs, lines
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()
        for thread in threads:
            thread.join(timeout=5)


def next_line(lines: queue.Queue[Line], *, text: str, timeout: float) -> Line:
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise AssertionError(f"no process printed {text} within {timeout}s") from None
        if line.text == text:
            return line


def test_standby_process_takes_over_when_leader_process_is_killed(
    cluster: Cluster, namespace: str
) -> None:
    with electors_in_processes(cluster, name=lease_name(), namespace=namespace, count=2) as (
        procs,
        lines,
    ):
        first = next_line(lines, text="LEADING", timeout=30)  # includes interpreter start
        time.sleep(1.5)  # renewals: the other stays standby and sees the lease move
        later = []
        while not lines.empty():
            later.append(lines.get())
        assert [x for x in later if x.text == "LEADING"] == [], "two leaders"
        procs[first.proc].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        second = next_line(lines, text="LEADING", timeout=TAKEOVER_BOUND + 5)
        assert second.proc != first.proc
        assert second.at - killed_at < TAKEOVER_BOUND
