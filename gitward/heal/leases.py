"""The Lease that leader election competes for: which one, its timing, and its bodies.

What a ``coordination.k8s.io/v1`` Lease says and what gitward writes into it
when it takes, renews or hands over the lease, as plain data and pure
functions; :mod:`gitward.heal.leader` decides *when* to write.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from math import ceil

from gitward.objects import Body

LEASE_API_VERSION = "coordination.k8s.io/v1"


def default_identity() -> str:
    """``<hostname>_<pid>``: the pod name in a cluster, unique per process on one machine."""
    return f"{socket.gethostname()}_{os.getpid()}"


def micro_time(moment: datetime | None = None) -> str:
    """RFC 3339 with microseconds, as a Lease's ``MicroTime`` fields want it."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class LeaseConfig:
    """Which Lease to compete for, as whom, and how often.

    ``renew_every`` must be well below ``lease_seconds`` so that a renewal or
    two may fail without losing the lease; ``retry_every`` is how often a
    standby looks at the Lease (and how often a leader retries a failed renewal).
    """

    name: str = "gitward-controller"
    namespace: str = "gitward-system"
    identity: str = field(default_factory=default_identity)
    lease_seconds: float = 15
    renew_every: float = 5
    retry_every: float = 2

    def __post_init__(self) -> None:
        if not self.identity:
            raise ValueError("LeaseConfig: identity must not be empty")
        if not 0 < self.renew_every < self.lease_seconds:
            raise ValueError(
                f"LeaseConfig: renew_every ({self.renew_every}s) must be positive and "
                f"shorter than lease_seconds ({self.lease_seconds}s)"
            )
        if self.retry_every <= 0:
            raise ValueError("LeaseConfig: retry_every must be positive")

    @property
    def duration_seconds(self) -> int:
        """``leaseDurationSeconds`` is an integer in the API; never round down to zero."""
        return max(1, ceil(self.lease_seconds))

    def __str__(self) -> str:
        return f"Lease/{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Observation:
    """The Lease's holder and renewTime, and when (monotonic) we saw them change."""

    holder: str
    renew_time: str
    duration: float
    seen_at: float

    def remaining(self, now: float) -> float:
        return self.seen_at + self.duration - now


def spec_of(lease: Body) -> Body:
    spec = lease.get("spec")
    return spec if isinstance(spec, dict) else {}


def holder_of(lease: Body) -> str:
    """The Lease's ``holderIdentity``; empty when nobody holds it."""
    return str(spec_of(lease).get("holderIdentity") or "")


def new_lease(config: LeaseConfig, *, now: str) -> Body:
    """A Lease held by ``config.identity`` from ``now``."""
    return {
        "apiVersion": LEASE_API_VERSION,
        "kind": "Lease",
        "metadata": {"name": config.name, "namespace": config.namespace},
        "spec": {
            "holderIdentity": config.identity,
            "leaseDurationSeconds": config.duration_seconds,
            "acquireTime": now,
            "renewTime": now,
            "leaseTransitions": 0,
        },
    }


def claimed(lease: Body, config: LeaseConfig, *, now: str) -> Body:
    """``lease`` renewed by ``config.identity``, or taken over from another holder."""
    spec = spec_of(lease)
    new_spec = dict(spec)
    new_spec.update(
        holderIdentity=config.identity,
        leaseDurationSeconds=config.duration_seconds,
        renewTime=now,
    )
    if holder_of(lease) != config.identity:
        new_spec["acquireTime"] = now
        new_spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
    return {**lease, "spec": new_spec}


def released(lease: Body, *, now: str) -> Body:
    """``lease`` held by nobody and expiring at once, so a standby takes over at its next look."""
    spec = dict(spec_of(lease))
    spec.update(holderIdentity="", leaseDurationSeconds=1, acquireTime=now, renewTime=now)
    return {**lease, "spec": spec}


__all__ = [
    "LEASE_API_VERSION",
    "LeaseConfig",
    "Observation",
    "claimed",
    "default_identity",
    "holder_of",
    "micro_time",
    "new_lease",
    "released",
    "spec_of",
]
