"""Keeping the controller's long-lived tasks alive: log a death, restart with backoff.

The reconcile loop, the leader election and each watch run as asyncio tasks
that nobody awaits while the process runs. A task that raised would otherwise
die in silence: git fetches or self-heal would stop while the process and its
probes looked fine. A :class:`Supervisor` logs the death with its traceback,
restarts the task after a growing delay (1 s, 2 s, 4 s … 60 s; back to 1 s
once a run lasted a minute), and reports the task as down until it runs again,
which ``/healthz`` turns into a 503 so a kubelet restarts a pod that keeps
failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["Supervisor"]

Factory = Callable[[], Coroutine[Any, Any, None]]

FIRST_DELAY = 1.0
MAX_DELAY = 60.0
#: A run that lasted this long was healthy: the next death starts the backoff over.
STABLE_AFTER = 60.0


class Supervisor:
    """Runs named tasks that should run until stopped, restarting any that end."""

    def __init__(
        self,
        *,
        log: logging.Logger,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        stable_after: float = STABLE_AFTER,
    ) -> None:
        self._log = log
        self._first = first_delay
        self._max = max_delay
        self._stable = stable_after
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._down: dict[str, str] = {}

    def start(self, name: str, factory: Factory) -> None:
        """Run ``factory()`` as task ``name`` (once: a running name is left alone)."""
        task = self._tasks.get(name)
        if task is not None and not task.done():
            return
        self._tasks[name] = asyncio.create_task(self._keep(name, factory), name=name)

    def running(self, name: str) -> bool:
        task = self._tasks.get(name)
        return task is not None and not task.done()

    @property
    def down(self) -> dict[str, str]:
        """Tasks that died and wait for their restart: name to the reason."""
        return dict(self._down)

    async def stop(self, name: str) -> None:
        """Cancel task ``name`` and wait for it to end."""
        task = self._tasks.pop(name, None)
        self._down.pop(name, None)
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def cancel(self, name: str) -> None:
        """Cancel task ``name`` without waiting for it to end.

        For a supervised task stopping another: awaiting the other's end there
        would swallow a cancellation of the caller itself.
        """
        task = self._tasks.pop(name, None)
        self._down.pop(name, None)
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        """Stop every task."""
        for name in list(self._tasks):
            await self.stop(name)

    async def _keep(self, name: str, factory: Factory) -> None:
        delay = self._first
        while True:
            started = time.monotonic()
            try:
                await factory()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                reason = f"{name}: died: {type(e).__name__}: {e}"
                failure: BaseException | None = e
            else:
                reason, failure = f"{name}: ended unexpectedly", None
            if time.monotonic() - started >= self._stable:
                delay = self._first
            self._log.error("%s; restarting in %gs", reason, delay, exc_info=failure)
            self._down[name] = reason
            try:
                await asyncio.sleep(delay)
            finally:
                self._down.pop(name, None)
            delay = min(delay * 2, self._max)
