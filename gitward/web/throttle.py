"""Failed logins, counted per client address: guessing is slowed to a few tries a minute.

After ``limit`` failures from one address within ``window`` seconds, that
address is refused (HTTP 429, without checking anything) until the oldest of
them is ``window`` seconds old. A successful login clears the address's count.
Memory is bounded: past ``max_clients`` addresses, the stalest is forgotten.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

__all__ = ["Throttle"]


class Throttle:
    def __init__(
        self,
        *,
        limit: int = 5,
        window: float = 60.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window = window
        self._max_clients = max_clients
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.get(client, deque())
        cutoff = self._clock() - self._window
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            self._failures.pop(client, None)
        return failures

    def wait(self, client: str) -> float:
        """Seconds ``client`` must wait before its next try; 0 when it may try now."""
        failures = self._recent(client)
        if len(failures) < self._limit:
            return 0.0
        return max(failures[0] + self._window - self._clock(), 0.0)

    def failed(self, client: str) -> None:
        failures = self._recent(client)
        if client not in self._failures and len(self._failures) >= self._max_clients:
            stalest = min(self._failures, key=lambda c: self._failures[c][-1])
            del self._failures[stalest]
        failures.append(self._clock())
        self._failures[client] = failures

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)
