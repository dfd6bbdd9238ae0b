"""Delivery in the background: a queue, one task per delivery, retries with backoff.

:meth:`Notifier.emit` only puts the event on a queue, so the controller's
loop never waits for a receiver. A dispatcher hands each (event, provider)
pair the provider's filters let through to a task of its own, which:

1. looks the pair up in the ledger (:mod:`gitward.notify.ledger`) and stops
   if it was delivered (or given up) before, by this replica or another;
2. writes it ``pending``, with the message, so a new leader can finish it;
3. sends it, waiting ``initial`` seconds after a temporary failure and twice
   as long each time up to ``maximum``, until ``give_up_after`` seconds have
   passed since the first attempt;
4. writes it ``sent``, or ``failed`` and counts it in
   ``gitward_notifications_failed_total``.

Only the leader runs a notifier (:meth:`start` when it starts leading,
:meth:`stop` when it stops); what it had pending, the next leader resumes
from the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

import httpx
from prometheus_client import Counter

from gitward.config.notifications import NotificationSettings, Provider
from gitward.errors import GitwardError
from gitward.forge import Forge
from gitward.kube import Kube
from gitward.notify import ledger
from gitward.notify.events import Notification
from gitward.notify.ledger import Delivery, DeliveryState
from gitward.notify.sending import DeliveryFailed, Sender

log = logging.getLogger("gitward.controller")

#: Deliveries in flight at once; the rest wait their turn (their retry clocks run).
CONCURRENCY = 8
#: Seconds a receiver has to answer one attempt.
TIMEOUT = 10.0
#: Seconds :meth:`Notifier.stop` waits for messages on their way (a receiver's answer).
STOP_GRACE = TIMEOUT + 2.0
#: Pairs remembered as done or under way before the memory is dropped (the ledger stays).
KNOWN_LIMIT = 10_000


@dataclass(frozen=True)
class DeliveryCounters:
    """``gitward_notifications_{sent,failed}_total``, labelled by provider and event."""

    sent: Counter
    failed: Counter


class Notifier:
    def __init__(
        self,
        *,
        kube: Kube,
        settings: NotificationSettings,
        counters: DeliveryCounters,
        forge: Forge | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.kube = kube
        self.settings = settings
        self.counters = counters
        self._forge = forge
        self._transport = transport
        self._clock = clock
        self._sleep = sleep
        self._queue: asyncio.Queue[Notification] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._known: set[tuple[str, str]] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._http: httpx.AsyncClient | None = None
        self._sender: Sender | None = None
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._finishing: set[asyncio.Task[None]] = set()  # sending, or recording what happened

    @property
    def running(self) -> bool:
        return self._queue is not None

    def emit(self, note: Notification) -> None:
        """Queue ``note`` for every provider that wants it; never waits, never raises."""
        if self._queue is None or not self.settings.any:
            return  # not the leader: the leader tells it
        self._queue.put_nowait(note)

    async def start(self) -> None:
        """Start delivering (this replica leads), and resume what the ledger has pending."""
        if self._queue is not None or not self.settings.any:
            return
        self._http = httpx.AsyncClient(
            transport=self._transport, timeout=TIMEOUT, follow_redirects=False
        )
        self._sender = Sender(kube=self.kube, http=self._http, forge=self._forge)
        self._queue = asyncio.Queue()
        self._spawn(self._dispatch(self._queue), "notifications")
        self._spawn(self._resume(), "notifications: resume")

    async def stop(self) -> None:
        """Stop delivering; what is pending stays in the ledger for the next leader.

        A message on its way to a receiver is given up to :data:`STOP_GRACE`
        seconds to be answered and recorded, so the next leader does not send it again.
        """
        tasks, self._tasks = list(self._tasks), set()
        finishing = [t for t in tasks if t in self._finishing]
        for task in tasks:
            if task not in self._finishing:
                task.cancel()  # waiting to retry, or not yet sent: the next leader does it
        if finishing:
            await asyncio.wait(finishing, timeout=STOP_GRACE)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._queue = None
        self._known.clear()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def settled(self) -> None:
        """Wait until the queue is empty and no delivery is under way (for tests)."""
        while self._queue is not None:
            await asyncio.sleep(0)
            busy = [t for t in self._tasks if not t.get_name().startswith("notifications")]
            if self._queue.empty() and not busy:
                return
            await asyncio.sleep(0.01)

    # -- dispatch ------------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        # Looked up at call time: stop() swaps the set for a new one.
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Nobody awaits these tasks: say what went wrong, or a delivery vanishes unseen.
            log.error("notifications: %s failed", task.get_name(), exc_info=task.exception())

    async def _dispatch(self, queue: asyncio.Queue[Notification]) -> None:
        while True:
            note = await queue.get()
            for provider in self.settings.providers:
                if provider.wants(note.event, note.app):
                    self._start_delivery(provider, note)

    def _start_delivery(self, provider: Provider, note: Notification) -> None:
        pair = (note.id, provider.name)
        if pair in self._known:
            return  # delivered, given up, or under way
        if len(self._known) > KNOWN_LIMIT:
            self._known.clear()
        self._known.add(pair)
        self._spawn(self._deliver(provider, note), f"deliver {provider.name} {note.id}")

    async def _resume(self) -> None:
        """Carry on with the deliveries a previous leader left pending."""
        providers = {p.name: p for p in self.settings.providers}
        try:
            keys = await ledger.keys_with_records(self.kube)
        except GitwardError as e:
            log.warning("notifications: cannot list pending deliveries: %s", e)
            return
        for key in keys:
            try:
                deliveries = await ledger.load(self.kube, key)
            except GitwardError as e:
                log.warning("notifications: %s", e)
                continue
            for d in deliveries:
                provider = providers.get(d.provider)
                if d.state is DeliveryState.PENDING and provider and d.message is not None:
                    note = Notification.from_doc(d.message)
                    self._start_delivery(provider, note)

    # -- one delivery ----------------------------------------------------------------

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def _deliver(self, provider: Provider, note: Notification) -> None:
        retry = self.settings.retry
        delay = retry.initial
        began = self._clock()
        entry: Delivery | None = None
        while entry is None:
            try:
                entry = await self._claim(provider, note)
            except GitwardError as e:
                # Without the ledger, sending could repeat a delivery: wait for it.
                if self._clock() - began + delay > retry.give_up_after:
                    self._gave_up(provider, note, attempts=0, error=e)
                    return
                log.warning("notifications: %s: %s", provider.name, e)
                await self._sleep(delay)
                delay = min(delay * 2, retry.maximum)
                continue
            if entry.state is not DeliveryState.PENDING:
                return
        assert self._sender is not None
        delay = retry.initial
        current = asyncio.current_task()
        assert current is not None
        while True:
            attempts = entry.attempts + 1
            # From here until its outcome is recorded, stop() lets this attempt finish:
            # cancelled in between, a message the receiver took would be sent again.
            self._finishing.add(current)
            try:
                try:
                    async with self._slots:
                        await self._sender.send(provider, note)
                except DeliveryFailed as e:
                    entry = replace(entry, attempts=attempts, error=str(e))
                    waited = self._clock() - entry.since
                    if not e.retry or waited + delay > retry.give_up_after:
                        await self._settle(note, entry, DeliveryState.FAILED)
                        self._gave_up(provider, note, attempts=attempts, error=e)
                        return
                    failure = e
                else:
                    entry = replace(entry, attempts=attempts, error="")
                    await self._settle(note, entry, DeliveryState.SENT)
                    self.counters.sent.labels(provider=provider.name, event=note.event).inc()
                    log.info(
                        "notified provider=%s event=%s app=%s id=%s attempts=%d",
                        provider.name, note.event, note.app, note.id, attempts,
                    )  # fmt: skip
                    return
            finally:
                self._finishing.discard(current)
            log.info(
                "notify-retry provider=%s id=%s in=%.1fs error=%s",
                provider.name, note.id, delay, failure,
            )  # fmt: skip
            await self._sleep(delay)
            delay = min(delay * 2, retry.maximum)

    def _gave_up(
        self, provider: Provider, note: Notification, *, attempts: int, error: Exception
    ) -> None:
        self.counters.failed.labels(provider=provider.name, event=note.event).inc()
        log.warning(
            "notify-failed provider=%s event=%s app=%s id=%s attempts=%d error=%s",
            provider.name, note.event, note.app, note.id, attempts, error,
        )  # fmt: skip

    async def _claim(self, provider: Provider, note: Notification) -> Delivery:
        """The pair's ledger entry: as found (done, or left pending), or new and ``pending``."""
        async with self._lock(note.key):
            deliveries = await ledger.load(self.kube, note.key)
            for d in deliveries:
                if d.id == note.id and d.provider == provider.name:
                    return d
            entry = Delivery(
                id=note.id,
                provider=provider.name,
                event=note.event.value,
                state=DeliveryState.PENDING,
                since=self._clock(),
                message=note.to_doc(),
            )
            await ledger.save(self.kube, note.key, [entry, *deliveries])
            return entry

    async def _settle(self, note: Notification, entry: Delivery, state: DeliveryState) -> None:
        """Write the outcome; a ledger that cannot be written is retried, never skipped."""
        done = replace(entry, state=state)
        delay = self.settings.retry.initial
        while True:
            try:
                async with self._lock(note.key):
                    deliveries = await ledger.load(self.kube, note.key)
                    kept = [
                        d for d in deliveries if (d.id, d.provider) != (entry.id, entry.provider)
                    ]
                    await ledger.save(self.kube, note.key, [done, *kept])
                return
            except GitwardError as e:
                log.warning("notifications: %s: recording the delivery: %s", entry.provider, e)
                await self._sleep(delay)
                delay = min(delay * 2, self.settings.retry.maximum)
