"""Tolerant readers for the loosely typed fields of raw objects.

Bodies come straight from the API server, and any field may be absent,
``null`` or (from an old or odd controller) of a surprising type. Reading
through these helpers keeps every kind module down to its rules, with its
defences in one place: a missing count reads as 0, a missing map as ``{}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


def mapping(source: Mapping[str, Any], *path: str) -> Mapping[str, Any]:
    """The map at ``path`` under ``source``, or ``{}`` if any step is not a map."""
    node: Any = source
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def maps(source: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """The items of the list at ``key`` that are maps; ``[]`` if there is no list."""
    items = source.get(key)
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, Mapping)]


def integer(source: Mapping[str, Any], key: str, default: int = 0) -> int:
    """The integer at ``key``, or ``default`` when absent or not an integer."""
    value = source.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return value


def text(source: Mapping[str, Any], key: str) -> str:
    """The string at ``key``, or ``""``."""
    value = source.get(key)
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Replicas:
    """A ReplicaSet's or Deployment's counts: desired (``spec``, default 1) and reported."""

    desired: int
    total: int  # every pod, old spec and new
    updated: int
    available: int

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Replicas:
        status = mapping(body, "status")
        return cls(
            desired=integer(mapping(body, "spec"), "replicas", default=1),
            total=integer(status, "replicas"),
            updated=integer(status, "updatedReplicas"),
            available=integer(status, "availableReplicas"),
        )


def join(*parts: str, sep: str = ": ") -> str:
    """The non-empty ``parts`` joined by ``sep``."""
    return sep.join(part for part in parts if part)


@dataclass(frozen=True)
class Condition:
    """One entry of ``status.conditions``, reduced to what health reads."""

    type: str
    status: str
    reason: str = ""
    message: str = ""

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Condition:
        return cls(
            type=text(raw, "type"),
            status=text(raw, "status"),
            reason=text(raw, "reason"),
            message=text(raw, "message"),
        )

    @property
    def is_true(self) -> bool:
        return self.status == "True"

    @property
    def is_false(self) -> bool:
        return self.status == "False"

    @property
    def detail(self) -> str:
        """``reason: message``, or whichever of the two is set."""
        return join(self.reason, self.message)


def conditions_of(body: Mapping[str, Any]) -> tuple[Condition, ...]:
    """Every condition in ``status.conditions``."""
    return tuple(Condition.of(raw) for raw in maps(mapping(body, "status"), "conditions"))


def find(
    conditions: Iterable[Condition], type_: str, *, status: bool | None = None
) -> Condition | None:
    """The first condition of type ``type_``, or ``None``; with ``status``, only when
    the condition is ``"True"`` (``status=True``) or ``"False"`` (``status=False``)."""
    found = next((c for c in conditions if c.type == type_), None)
    if found is None or status is None:
        return found
    return found if (found.is_true if status else found.is_false) else None


def generation_lag(body: Mapping[str, Any], *, strict: bool) -> tuple[int, int] | None:
    """``(generation, observed)`` when the controller has not seen the latest spec.

    ``strict`` is for controllers that always report
    ``status.observedGeneration`` (the built-in workloads): there a missing
    value means "not observed yet" and reads as 0. Without it, a missing
    value is no evidence at all, as for custom resources whose controllers
    may never report one.
    """
    generation = integer(mapping(body, "metadata"), "generation", default=-1)
    status = mapping(body, "status")
    if generation < 0 or (not strict and "observedGeneration" not in status):
        return None
    observed = integer(status, "observedGeneration")
    return (generation, observed) if observed < generation else None


def unobserved_rollout(body: Mapping[str, Any]) -> str:
    """Why a built-in workload is not yet judged on its counts; ``""`` if it can be.

    Until the controller has observed the latest generation, the replica
    counts in ``status`` describe the previous spec and prove nothing.
    """
    lag = generation_lag(body, strict=True)
    if lag is None:
        return ""
    generation, observed = lag
    return f"waiting for rollout to be observed (generation {generation}, observed {observed})"
