"""When to heal an object that keeps drifting.

The first drift is healed at once. If the same object drifts again soon after
a correction, another writer is fighting us; each further round waits three
times longer (2 s, 6 s, 18 s, ... up to 5 min), so two controllers never
settle into a hot loop. Quiet for one full cap resets the object.

An object counts as fought over while the writer keeps coming back within the
current backoff period; once it has been quiet that long, the fight is over
(the level itself only resets after a full cap, so a writer that returns later
still meets the longer wait).
"""

from __future__ import annotations

from dataclasses import dataclass, field

FIRST = 2.0
FACTOR = 3.0
CAP = 300.0


@dataclass
class ObjectBackoff:
    level: int = 0
    last_correction: float | None = None
    last_drift: float | None = None
    opponent: str = ""  # the field manager that keeps changing the object

    def delay(self, now: float, *, actor: str = "") -> float:
        """Seconds to wait before healing a drift detected at ``now``; updates the level."""
        if self.last_correction is None or now - self.last_correction > CAP:
            self.level = 0
        else:
            self.level += 1
        self.last_drift = now
        self.opponent = actor
        return self.period

    @property
    def period(self) -> float:
        return 0.0 if self.level == 0 else min(FIRST * FACTOR ** (self.level - 1), CAP)

    @property
    def fighting(self) -> bool:
        return self.level > 0

    def fighting_at(self, now: float) -> bool:
        """Still fought over: the writer came back within the current period."""
        if self.level == 0:
            return False
        last = max(self.last_drift or 0.0, self.last_correction or 0.0)
        return now - last < max(self.period, FIRST)


@dataclass
class Backoffs:
    by_object: dict[str, ObjectBackoff] = field(default_factory=dict)

    def of(self, key: str) -> ObjectBackoff:
        return self.by_object.setdefault(key, ObjectBackoff())
