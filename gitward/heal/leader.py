"""Active/standby between controller replicas, on a ``coordination.k8s.io/v1`` Lease.

Two controllers reconciling the same apps would fight over every object, so
only the replica holding the Lease works; the others wait to take over.

Why expiry is judged by *our* monotonic clock: the Lease's ``renewTime`` was
written by another machine's wall clock, and clocks across machines drift. So
a standby never compares ``renewTime`` with its own time; it only notes *when
it saw* ``(holderIdentity, renewTime)`` change, and the holder counts as gone
once ``leaseDurationSeconds`` pass on the local monotonic clock without a
change. The same rule lets a standby start a fresh count every time it
restarts, at the cost of waiting one full lease after a restart.

Every write is an optimistic ``replace`` carrying the ``resourceVersion`` that
was read, so when two standbys grab an expired Lease at once the API server
lets exactly one through; the other gets 409 Conflict and stays a standby.

A leader that cannot renew (API server unreachable, conflicts) steps down once
``lease_seconds`` have passed since it *sent* its last successful renewal:
the standbys start counting no earlier than the server stored that renewal,
so the old leader stops before anyone else may start.

Timeline of a leader killed without releasing (``L`` = lease_seconds)::

    leader    renew ── renew ──X (killed)
    standby   sees change ─────────── L passes ─── takes over (+ retry_every at most)
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable

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
from gitward.kube import Conflict, Forbidden, Kube, KubeError, Resource
from gitward.objects import Body

log = logging.getLogger("gitward.leader")

Callback = Callable[[], Awaitable[None]]


class _Attempt(enum.Enum):
    """What one try to acquire or renew the Lease came to."""

    HELD = "held"  # we hold it now
    TAKEN = "taken"  # someone else holds it and it has not expired
    FAILED = "failed"  # could not tell: API error, conflict, timeout


class LeaderElector:
    """Competes for one Lease; use one per process.

    ``run`` alternates between standby and leading until it is cancelled or
    :meth:`release` is called. Callbacks are awaited inline: they should start
    or stop work and return promptly, not do the work, since the Lease is not
    renewed while they run. An exception from a callback ends ``run``.
    """

    def __init__(
        self,
        *,
        kube: Kube,
        config: LeaseConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock``: the monotonic clock expiry is judged by (a fake one in unit tests)."""
        self.kube = kube
        self.config = config or LeaseConfig()
        self._clock = clock
        self._leading = False
        self._observed: Observation | None = None
        self._contact_at: float | None = None  # monotonic time of the last Lease read or write
        self._released = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._resource: Resource | None = None
        self._namespace_checked = False

    @property
    def is_leader(self) -> bool:
        return self._leading

    @property
    def identity(self) -> str:
        return self.config.identity

    @property
    def holder(self) -> str:
        """Who held the Lease when we last read it; empty if nobody, or not read yet."""
        return self._observed.holder if self._observed is not None else ""

    def in_contact(self) -> bool:
        """Whether a read or write of the Lease succeeded within the last ``lease_seconds``.

        A standby out of contact could not take over; it is not a healthy standby.
        """
        if self._contact_at is None:
            return False
        return self._clock() - self._contact_at < self.config.lease_seconds

    async def run(self, *, on_started_leading: Callback, on_stopped_leading: Callback) -> None:
        """Stand by, lead while the Lease is ours, stand by again when it is lost; repeat.

        Returns after :meth:`release`; otherwise runs until cancelled. If
        cancelled while leading, ``on_stopped_leading`` is still awaited, but
        the Lease is left to expire (call :meth:`release` to hand it over now).
        """
        owed_stop = False  # on_started_leading ran and on_stopped_leading has not
        try:
            while not self._released.is_set():
                acquired_at = await self._stand_by()
                if acquired_at is None or self._released.is_set():
                    return
                self._leading = True
                log.info("%s: %s is leading", self.config, self.identity)
                owed_stop = True
                await on_started_leading()
                await self._lead(since=acquired_at)
                self._leading = False
                log.info("%s: %s stopped leading", self.config, self.identity)
                owed_stop = False
                await on_stopped_leading()
        finally:
            self._leading = False
            if owed_stop:
                await on_stopped_leading()

    async def release(self) -> None:
        """Stop competing and, if the Lease is ours, hand it over at once.

        Writes an empty ``holderIdentity`` with ``leaseDurationSeconds: 1`` so
        a standby takes over at its next look instead of waiting for expiry.
        Errors are logged, not raised: the Lease then simply expires.
        """
        self._released.set()
        async with self._write_lock:
            held = self._leading or (
                self._observed is not None and self._observed.holder == self.identity
            )
            self._leading = False
            if not held:
                return
            try:
                resource = await self._lease_resource()
                lease = await self.kube.get(
                    resource, name=self.config.name, namespace=self.config.namespace
                )
                if lease is None or holder_of(lease) != self.identity:
                    return
                await self.kube.replace(released(lease, now=micro_time()))
                log.info("%s: released by %s", self.config, self.identity)
            except (KubeError, TimeoutError) as e:
                log.warning("%s: release failed, the lease will expire instead: %s", self.config, e)

    # -- the two states ------------------------------------------------------

    async def _stand_by(self) -> float | None:
        """Try until the Lease is ours or we are released (``None``).

        Returns when (monotonic) the acquiring write was sent: the Lease runs
        from no earlier than that, whatever the latency of the answer.
        """
        self._observed = None  # a fresh count: never trust what we saw as leader
        while not self._released.is_set():
            started = self._clock()
            outcome = await self._attempt(timeout=self.config.lease_seconds)
            if outcome is _Attempt.HELD:
                return started
            now = self._clock()
            delay = self.config.retry_every - (now - started)
            expires_in = self._expires_in(now)
            if outcome is _Attempt.TAKEN and expires_in is not None:
                # Look again right when the holder's lease runs out, if that is sooner.
                delay = min(delay, expires_in)
            await self._sleep(max(delay, 0.05))
        return None

    async def _lead(self, *, since: float) -> None:
        """Renew every ``renew_every`` until renewal fails for ``lease_seconds`` or we lose.

        ``since`` is when the acquiring write was sent; each deadline counts
        from the sending of the last successful write, never from its answer.
        """
        last_renewal = since
        while not self._released.is_set():
            await self._sleep(self.config.renew_every)
            while not self._released.is_set():
                deadline = last_renewal + self.config.lease_seconds
                sent = self._clock()
                if sent >= deadline:
                    log.warning(
                        "%s: %s could not renew for %.1fs; stepping down",
                        self.config,
                        self.identity,
                        self.config.lease_seconds,
                    )
                    return
                outcome = await self._attempt(timeout=deadline - sent)
                if outcome is _Attempt.HELD:
                    last_renewal = sent
                    break
                if outcome is _Attempt.TAKEN:
                    log.warning("%s: %s lost the lease to another", self.config, self.identity)
                    return
                await self._sleep(min(self.config.retry_every, deadline - self._clock()))

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once on :meth:`release`."""
        if seconds <= 0:
            return
        try:
            async with asyncio.timeout(seconds):  # wait_for could swallow a cancel
                await self._released.wait()
        except TimeoutError:
            return

    # -- one attempt -----------------------------------------------------------

    async def _attempt(self, *, timeout: float) -> _Attempt:
        """Acquire or renew once; never raises for API trouble or lost races."""
        try:
            async with self._write_lock, asyncio.timeout(max(timeout, 0.05)):
                if self._released.is_set():
                    return _Attempt.FAILED
                return await self._acquire_or_renew()
        except Conflict:
            return _Attempt.FAILED  # someone wrote in between; the next read tells who
        except (KubeError, TimeoutError) as e:
            log.info("%s: %s cannot reach the lease: %s", self.config, self.identity, e)
            return _Attempt.FAILED

    async def _acquire_or_renew(self) -> _Attempt:
        resource = await self._lease_resource()
        await self._ensure_namespace()
        cfg = self.config
        lease = await self.kube.get(resource, name=cfg.name, namespace=cfg.namespace)
        now = micro_time()
        if lease is None:
            created = await self.kube.create(new_lease(cfg, now=now))
            self._observe(created)
            return _Attempt.HELD
        self._observe(lease)
        holder = holder_of(lease)
        expires_in = self._expires_in(self._clock())
        if holder and holder != self.identity and expires_in is not None and expires_in > 0:
            return _Attempt.TAKEN
        if holder != self.identity:
            log.info("%s: %s takes over from %r", cfg, self.identity, holder)
        replaced = await self.kube.replace(claimed(lease, cfg, now=now))
        self._observe(replaced)
        return _Attempt.HELD

    def _observe(self, lease: Body) -> None:
        """Restart the expiry count whenever the holder or its renewTime changed."""
        self._contact_at = self._clock()
        spec = spec_of(lease)
        holder = holder_of(lease)
        renew_time = str(spec.get("renewTime") or "")
        duration = float(spec.get("leaseDurationSeconds") or self.config.duration_seconds)
        seen = self._observed
        if seen is not None and (seen.holder, seen.renew_time) == (holder, renew_time):
            if seen.duration != duration:
                self._observed = Observation(holder, renew_time, duration, seen.seen_at)
            return
        self._observed = Observation(holder, renew_time, duration, self._clock())

    def _expires_in(self, now: float) -> float | None:
        """Seconds until the holder we last saw counts as gone; ``None`` if we saw none."""
        return None if self._observed is None else self._observed.remaining(now)

    async def _lease_resource(self) -> Resource:
        if self._resource is None:
            found = await self.kube.resource_for(LEASE_API_VERSION, "Lease")
            if found is None:
                raise KubeError(f"{self.config}: the API server serves no {LEASE_API_VERSION}")
            self._resource = found
        return self._resource

    async def _ensure_namespace(self) -> None:
        if not self._namespace_checked:
            await ensure_namespace(self.kube, self.config.namespace)
            self._namespace_checked = True


async def ensure_namespace(kube: Kube, name: str) -> None:
    """Create the Leases' namespace if missing; someone else creating it first is fine."""
    ns = await kube.resource_for("v1", "Namespace")
    if ns is None:
        raise KubeError("Namespace: the API server serves no v1 Namespace")
    try:
        if await kube.get(ns, name=name) is None:
            await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    except Conflict:
        pass  # created meanwhile (AlreadyExists is a 409)
    except Forbidden:
        pass  # not ours to check; the Lease write will tell if it is missing


__all__ = ["LeaderElector", "ensure_namespace"]
