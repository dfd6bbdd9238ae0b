"""The steps of one ``gitward ci`` run as they end, and calls run beside them.

Each step is reported (name, duration, what it did) to the caller as it
ends, which the CLI prints as one progress line. Steps may run side by side
(the chart's lint beside the image build, the two chart stores): each
reports its own duration, so the run's total is the clock's, not their sum.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

from gitward.ci.records import Step

T = TypeVar("T")
Progress = Callable[[Step], None]


class Clock:
    """Steps as they end. A step that ran beside others reports its own duration
    (:meth:`beside`), so the run's total is the clock's, not the steps' sum."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.steps: list[Step] = []
        self.begun = self.started = time.monotonic()

    def done(self, name: str, detail: str, *, changed: bool = True) -> None:
        now = time.monotonic()
        self.beside(name, now - self.started, detail, changed=changed)
        self.started = now

    def beside(self, name: str, seconds: float, detail: str, *, changed: bool = True) -> None:
        step = Step(name=name, seconds=seconds, detail=detail, changed=changed)
        self.steps.append(step)
        self.progress(step)

    @property
    def elapsed(self) -> float:
        """Seconds since the step under way began."""
        return time.monotonic() - self.started

    def mark(self) -> None:
        self.started = time.monotonic()

    @property
    def total(self) -> float:
        return time.monotonic() - self.begun


class Timed(Generic[T]):
    """A call run on a worker thread, with how long it took."""

    def __init__(self, pool: ThreadPoolExecutor, fn: Callable[[], T]) -> None:
        self.seconds = 0.0

        def timed() -> T:
            started = time.monotonic()
            try:
                return fn()
            finally:
                self.seconds = time.monotonic() - started

        self._future: Future[T] = pool.submit(timed)

    def result(self) -> T:
        return self._future.result()

    def error(self) -> BaseException | None:
        return self._future.exception()
