"""When to heal an object that keeps drifting.

The first drift is healed at once. If the same object drifts again soon after
a correction, another writer is fighting us; each further round waits three
times longer (2 s, 6 s, 18 s, ... up to 5 min), so two controllers never
settle into a hot loop. Quiet for one full cap resets the object.
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

    def delay(self, now: float) -> float:
        """Seconds to wait before healing a drift detected at ``now``; updates the level."""
        if self.last_correction is None or now - self.last_correction > CAP:
            self.level = 0
        else:
            self.level += 1
        if self.level == 0:
            return 0.0
        return min(FIRST * FACTOR ** (self.level - 1), CAP)

    @property
    def fighting(self) -> bool:
        return self.level > 0


@dataclass
class Backoffs:
    by_object: dict[str, ObjectBackoff] = field(default_factory=dict)

    def of(self, key: str) -> ObjectBackoff:
        return self.by_object.setdefault(key, ObjectBackoff())
