"""What a sync did, object by object: data for the CLI, the history and the API."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gitward.objects import ObjectRef


class Outcome(StrEnum):
    """Past-tense result of one object in a sync."""

    CREATED = "created"
    CONFIGURED = "configured"
    RECREATED = "recreated"
    UNCHANGED = "unchanged"
    PRUNED = "pruned"
    SKIPPED = "skipped"
    HOOK_SUCCEEDED = "hook-succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class Change:
    ref: ObjectRef
    outcome: Outcome
    message: str = ""


@dataclass(frozen=True)
class ChangeSet:
    changes: tuple[Change, ...]

    @property
    def failed(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.outcome is Outcome.FAILED)

    @property
    def wrote(self) -> bool:
        return any(c.outcome not in (Outcome.UNCHANGED, Outcome.SKIPPED) for c in self.changes)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for c in self.changes if c.outcome is outcome)

    def summary(self) -> str:
        """``2 created, 1 pruned``: the count of each outcome that occurred."""
        return ", ".join(f"{n} {o.value}" for o in Outcome if (n := self.count(o)))
