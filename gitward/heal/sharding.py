"""Shards spread over controller replicas, one ``coordination.k8s.io/v1`` Lease per shard.

Each replica renews a membership Lease of its own and lists the group's Leases
every ``retry_every``. From the live members it works out its fair share
(:func:`gitward.heal.shards.fair_share`), renews the shard Leases it holds,
hands back the ones above its share (a replica joined), and claims free or
expired ones up to its share (a replica left or died).

The timing rules are those of :mod:`gitward.heal.leader`, per Lease:

- expiry of another's Lease is judged on our monotonic clock, from when we saw
  its ``(holderIdentity, renewTime)`` change, never from its wall-clock fields;
- every write is a ``replace`` carrying the ``resourceVersion`` read, so two
  replicas claiming one Lease at once cannot both win;
- a shard we could not renew for ``lease_seconds`` since we *sent* its last
  successful renewal is dropped, before anyone else may count it expired;
- a shard handed back stops being served *before* its Lease says it is free.

The owner learns the shards it serves through ``on_serving``, awaited inline:
it must stop work on a shard before it returns, since the Lease may be free
the moment it does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable

from gitward.heal.leader import ensure_namespace
from gitward.heal.leases import (
    LEASE_API_VERSION,
    LeaseConfig,
    Observation,
    claimed,
    holder_of,
    micro_time,
    new_lease,
    released,
    spec_of,
)
from gitward.heal.shards import (
    GROUP_LABEL,
    ROLE_LABEL,
    fair_share,
    member_lease_name,
    shard_lease_name,
    to_claim,
    to_release,
)
from gitward.kube import Conflict, Kube, KubeError, Resource
from gitward.objects import Body

log = logging.getLogger("gitward.shards")

OnServing = Callable[[frozenset[int]], Awaitable[None]]


class ShardElector:
    """Claims, renews and hands back shard Leases for one replica; use one per process.

    ``config.name`` names the group: the Leases are ``<name>-shard-<n>`` and
    ``<name>-member-<identity>``.
    """

    def __init__(
        self,
        *,
        kube: Kube,
        config: LeaseConfig,
        shards: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if shards < 1:
            raise ValueError(f"ShardElector: shards must be at least 1, not {shards}")
        self.kube = kube
        self.config = config
        self.shards = shards
        self._clock = clock
        self._observed: dict[str, Observation] = {}
        self._held: dict[int, float] = {}  # shard: when its last successful write was sent
        self._member_sent: float | None = None
        self._served: frozenset[int] = frozenset()
        self._contact_at: float | None = None
        self._released = asyncio.Event()
        self._round = asyncio.Lock()  # a round of writes, or the release: never both
        self._resource: Resource | None = None
        self._namespace_checked = False
        #: Who held each shard's Lease when we last listed them ("" for nobody).
        self.holders: dict[int, str] = {}
        #: The live replicas when we last listed the Leases, ours included.
        self.members: tuple[str, ...] = ()

    @property
    def identity(self) -> str:
        return self.config.identity

    @property
    def served(self) -> frozenset[int]:
        return self._served

    def in_contact(self) -> bool:
        """Whether a list or write of the Leases succeeded within the last ``lease_seconds``."""
        if self._contact_at is None:
            return False
        return self._clock() - self._contact_at < self.config.lease_seconds

    async def run(self, *, on_serving: OnServing) -> None:
        """Keep the fair share of shards until cancelled or :meth:`release`.

        When it ends, ``on_serving`` hears an empty set if it heard any other."""
        try:
            while not self._released.is_set():
                async with self._round:
                    if self._released.is_set():
                        break
                    await self._tick(on_serving)
                await self._sleep(self._next_wake())
        finally:
            self._held.clear()
            if self._served:
                self._served = frozenset()
                await on_serving(self._served)

    async def release(self) -> None:
        """Stop competing and hand every Lease of ours back at once (errors: they expire)."""
        self._released.set()
        async with self._round:  # a round under way finishes its writes first
            self._held.clear()
            try:
                leases = await self._list(timeout=self.config.lease_seconds)
                for lease in leases:
                    if holder_of(lease) == self.identity:
                        await self.kube.replace(released(lease, now=micro_time()))
            except (KubeError, TimeoutError) as e:
                log.warning("%s: release failed, the leases will expire instead: %s", self, e)

    def __str__(self) -> str:
        return f"shards {self.config.namespace}/{self.config.name}"

    # -- one round -------------------------------------------------------------

    async def _tick(self, on_serving: OnServing) -> None:
        await self._drop_overdue(on_serving)
        try:
            leases = await self._list(timeout=self._time_left())
        except (KubeError, TimeoutError) as e:
            log.info("%s: %s cannot list the leases: %s", self, self.identity, e)
            return
        by_name = {str(lease["metadata"]["name"]): lease for lease in leases}
        await self._renew_membership(by_name)
        members = self._live_members(by_name)
        self.members = tuple(members)
        share = fair_share(self.shards, len(members))
        rank = members.index(self.identity)
        # A shard whose Lease another wrote meanwhile is not ours any more.
        for shard in list(self._held):
            lease = by_name.get(self._shard(shard))
            if lease is None or holder_of(lease) != self.identity:
                log.warning("%s: %s lost shard %d to another", self, self.identity, shard)
                del self._held[shard]
        await self._publish(on_serving)
        extra = to_release(held=list(self._held), share=share)
        if extra:
            for shard in extra:
                del self._held[shard]
            await self._publish(on_serving)  # stop work first: the Lease frees at once
            for shard in extra:
                await self._write_release(by_name.get(self._shard(shard)))
        for shard in list(self._held):
            if self._clock() - self._held[shard] >= self.config.renew_every:
                await self._claim(shard, by_name.get(self._shard(shard)))
        free = [s for s in range(self.shards) if self._is_free(by_name, s)]
        for shard in to_claim(
            free=free, held=list(self._held), shards=self.shards, rank=rank, share=share
        ):
            await self._claim(shard, by_name.get(self._shard(shard)))
        await self._publish(on_serving)

    async def _drop_overdue(self, on_serving: OnServing) -> None:
        """Shards not renewed for a lease period: others may count them expired now."""
        now = self._clock()
        overdue = [s for s, sent in self._held.items() if now - sent >= self.config.lease_seconds]
        for shard in overdue:
            log.warning(
                "%s: %s could not renew shard %d for %.1fs; dropping it",
                self,
                self.identity,
                shard,
                self.config.lease_seconds,
            )
            del self._held[shard]
        if overdue:
            await self._publish(on_serving)

    async def _publish(self, on_serving: OnServing) -> None:
        held = frozenset(self._held)
        if held != self._served:
            log.info("%s: %s serves shards %s", self, self.identity, sorted(held) or "none")
            self._served = held
            await on_serving(held)

    def _live_members(self, by_name: dict[str, Body]) -> list[str]:
        live = {self.identity}
        for name, lease in by_name.items():
            if lease["metadata"].get("labels", {}).get(ROLE_LABEL) != "member":
                continue
            holder = holder_of(lease)
            seen = self._observed.get(name)
            if holder and seen is not None and seen.remaining(self._clock()) > 0:
                live.add(holder)
        return sorted(live)

    def _is_free(self, by_name: dict[str, Body], shard: int) -> bool:
        if shard in self._held:
            return False
        name = self._shard(shard)
        lease = by_name.get(name)
        if lease is None:
            return True
        holder = holder_of(lease)
        if not holder or holder == self.identity:
            return True  # nobody's, or ours from before a restart of this loop
        seen = self._observed.get(name)
        return seen is not None and seen.remaining(self._clock()) <= 0

    # -- writes ----------------------------------------------------------------

    async def _renew_membership(self, by_name: dict[str, Body]) -> None:
        sent = self._clock()
        if self._member_sent is not None and sent - self._member_sent < self.config.renew_every:
            return
        name = member_lease_name(self.config.name, self.identity)
        if await self._write(name, by_name.get(name), role="member"):
            self._member_sent = sent

    async def _claim(self, shard: int, lease: Body | None) -> bool:
        sent = self._clock()
        name = self._shard(shard)
        if not await self._write(name, lease, role="shard"):
            return False
        if shard not in self._held:
            log.info("%s: %s took shard %d", self, self.identity, shard)
        self._held[shard] = sent
        self.holders[shard] = self.identity
        return True

    async def _write(self, name: str, lease: Body | None, *, role: str) -> bool:
        """Create or claim Lease ``name``; False on a lost race or API trouble."""
        cfg = dataclasses.replace(self.config, name=name)
        now = micro_time()
        try:
            async with asyncio.timeout(max(self._time_left(), 0.05)):
                if lease is None:
                    body = new_lease(cfg, now=now)
                    body["metadata"]["labels"] = {GROUP_LABEL: self.config.name, ROLE_LABEL: role}
                    written = await self.kube.create(body)
                else:
                    written = await self.kube.replace(claimed(lease, cfg, now=now))
        except Conflict:
            return False  # another replica wrote first; the next list tells who
        except (KubeError, TimeoutError) as e:
            log.info("%s: %s cannot write %s: %s", self, self.identity, name, e)
            return False
        self._contact_at = self._clock()
        self._observe(name, written)
        return True

    async def _write_release(self, lease: Body | None) -> None:
        if lease is None or holder_of(lease) != self.identity:
            return
        try:
            await self.kube.replace(released(lease, now=micro_time()))
        except (KubeError, TimeoutError) as e:
            log.info("%s: handing back %s failed, it will expire: %s", self, lease, e)

    # -- reads and time ----------------------------------------------------------

    async def _list(self, *, timeout: float) -> list[Body]:
        async with asyncio.timeout(max(timeout, 0.05)):
            resource = await self._lease_resource()
            if not self._namespace_checked:
                await ensure_namespace(self.kube, self.config.namespace)
                self._namespace_checked = True
            leases, _ = await self.kube.list(
                resource,
                namespace=self.config.namespace,
                label_selector=f"{GROUP_LABEL}={self.config.name}",
            )
        self._contact_at = self._clock()
        names = set()
        for lease in leases:
            name = str(lease["metadata"]["name"])
            names.add(name)
            self._observe(name, lease)
        for gone in set(self._observed) - names:
            del self._observed[gone]
        by_name = {str(lease["metadata"]["name"]): lease for lease in leases}
        self.holders = {
            s: holder_of(by_name[self._shard(s)])
            for s in range(self.shards)
            if self._shard(s) in by_name
        }
        return leases

    def _shard(self, shard: int) -> str:
        return shard_lease_name(self.config.name, shard)

    def _observe(self, name: str, lease: Body) -> None:
        """Restart the expiry count of ``name`` whenever its holder or renewTime changed."""
        spec = spec_of(lease)
        holder, renew_time = holder_of(lease), str(spec.get("renewTime") or "")
        duration = float(spec.get("leaseDurationSeconds") or self.config.duration_seconds)
        seen = self._observed.get(name)
        if seen is not None and (seen.holder, seen.renew_time) == (holder, renew_time):
            return
        self._observed[name] = Observation(holder, renew_time, duration, self._clock())

    def _time_left(self) -> float:
        """Until the first held shard falls due; a request must not outlast it."""
        now = self._clock()
        deadlines = [sent + self.config.lease_seconds for sent in self._held.values()]
        return min([*(d - now for d in deadlines), self.config.lease_seconds])

    def _next_wake(self) -> float:
        return max(min(self.config.retry_every, self._time_left()), 0.05)

    async def _sleep(self, seconds: float) -> None:
        try:
            async with asyncio.timeout(seconds):  # wait_for could swallow a cancel
                await self._released.wait()
        except TimeoutError:
            return

    async def _lease_resource(self) -> Resource:
        if self._resource is None:
            found = await self.kube.resource_for(LEASE_API_VERSION, "Lease")
            if found is None:
                raise KubeError(f"{self}: the API server serves no {LEASE_API_VERSION}")
            self._resource = found
        return self._resource


__all__ = ["OnServing", "ShardElector"]
