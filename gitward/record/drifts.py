"""Drift records: what changed, who changed it, when it was seen and when put back."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class DriftKind(StrEnum):
    MODIFIED = "modified"
    DELETED = "deleted"
    REPLACED = "replaced"  # deleted and created again by someone else


class DriftOutcome(StrEnum):
    CORRECTED = "corrected"
    REPORTED = "reported"  # selfHeal is off: OutOfSync, nothing changed
    PENDING = "pending"  # waiting out a backoff
    FAILED = "failed"


@dataclass(frozen=True)
class DriftRecord:
    app: str
    object: str
    kind: DriftKind
    fields: tuple[str, ...]
    actor: str
    detected_at: str
    outcome: DriftOutcome
    corrected_at: str = ""
    # For backoff arithmetic only; the public shape (gitward.views) leaves it out.
    detected_monotonic: float = field(default=0.0, metadata={"public": False})
    message: str = ""

    def settled(self, outcome: DriftOutcome, *, at: str = "", message: str = "") -> DriftRecord:
        return replace(self, outcome=outcome, corrected_at=at, message=message)
