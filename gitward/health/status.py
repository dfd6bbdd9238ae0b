"""How healthy one object is, as an ordered value.

Health is a *severity*, not a label: aggregating an app, waiting for a sync
and deciding what to print all come down to "which is worst?". So
:class:`HealthStatus` is totally ordered and :func:`worse` is the only way
healths are combined.

The order, from least to most severe, and why:

``Healthy``
    The object does what its spec asks.
``Progressing``
    Not there yet, but a controller is working on it; waiting may fix it.
``Degraded``
    A controller has given up or reported a failure; waiting will not fix it.
``Missing``
    The object should exist but does not. It ranks above ``Degraded``
    because nothing in the cluster will create it on its own: the desired
    state has not landed at all, and the health of what did land means
    little until it has.
``Unknown``
    We could not tell. It ranks worst so that a wait can never pass, nor an
    aggregate read as fine, on something we failed to judge.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass


@functools.total_ordering
class HealthStatus(enum.Enum):
    """An object's health; members compare by severity (definition order)."""

    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"
    MISSING = "Missing"
    UNKNOWN = "Unknown"

    @property
    def severity(self) -> int:
        """0 for ``Healthy``, rising with each member."""
        return type(self)._member_names_.index(self.name)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, HealthStatus):
            return NotImplemented
        return self.severity < other.severity

    def __str__(self) -> str:
        return self.value


def worse(*statuses: HealthStatus) -> HealthStatus:
    """The most severe of ``statuses``; ``Healthy`` when there are none."""
    return max(statuses, default=HealthStatus.HEALTHY)


@dataclass(frozen=True)
class Health:
    """A status and a one-line reason for it.

    The message does not name the object: whoever pairs a :class:`Health`
    with an object reference (a report, the CLI) puts the subject in front.
    """

    status: HealthStatus
    message: str = ""

    @classmethod
    def healthy(cls, message: str = "") -> Health:
        return cls(HealthStatus.HEALTHY, message)

    @classmethod
    def progressing(cls, message: str) -> Health:
        return cls(HealthStatus.PROGRESSING, message)

    @classmethod
    def degraded(cls, message: str) -> Health:
        return cls(HealthStatus.DEGRADED, message)

    @classmethod
    def missing(cls, message: str = "not found in the cluster") -> Health:
        return cls(HealthStatus.MISSING, message)

    @classmethod
    def unknown(cls, message: str) -> Health:
        return cls(HealthStatus.UNKNOWN, message)

    def worse(self, other: Health) -> Health:
        """The more severe of the two; on a tie, ``self`` (the first seen)."""
        return other if other.status > self.status else self

    def __str__(self) -> str:
        return f"{self.status}: {self.message}" if self.message else str(self.status)
