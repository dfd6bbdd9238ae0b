"""Drift records: what changed, who changed it, when it was seen and when put back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any


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
    detected_monotonic: float = 0.0
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("detected_monotonic")
        out["fields"] = list(self.fields)
        return out

    def settled(self, outcome: DriftOutcome, *, at: str = "", message: str = "") -> DriftRecord:
        return replace(self, outcome=outcome, corrected_at=at, message=message)
