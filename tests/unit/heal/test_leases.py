"""What gitward writes into a Lease when it takes, renews or hands it over."""

from __future__ import annotations

from gitward.heal.leases import LeaseConfig, claimed, holder_of, new_lease, released
from gitward.objects import Body

T0 = "2026-01-01T00:00:00.000000Z"
T1 = "2026-01-01T00:00:05.000000Z"


def config(identity: str) -> LeaseConfig:
    return LeaseConfig(identity=identity, lease_seconds=2.5, renew_every=1)


def held_by(identity: str, *, transitions: int = 3) -> Body:
    lease = new_lease(config(identity), now=T0)
    lease["metadata"]["resourceVersion"] = "42"
    lease["spec"]["leaseTransitions"] = transitions
    return lease


def test_a_new_lease_is_held_from_now_for_the_whole_seconds_rounded_up() -> None:
    spec = new_lease(config("a"), now=T0)["spec"]
    assert spec == {
        "holderIdentity": "a",
        "leaseDurationSeconds": 3,
        "acquireTime": T0,
        "renewTime": T0,
        "leaseTransitions": 0,
    }


def test_renewing_moves_only_the_renew_time_and_keeps_the_resource_version() -> None:
    lease = held_by("a")
    renewed = claimed(lease, config("a"), now=T1)
    assert renewed["spec"]["renewTime"] == T1
    assert renewed["spec"]["acquireTime"] == T0
    assert renewed["spec"]["leaseTransitions"] == 3
    assert renewed["metadata"]["resourceVersion"] == "42"  # the write is optimistic
    assert lease["spec"]["renewTime"] == T0  # the lease read is left as it was


def test_taking_over_counts_a_transition_and_restarts_the_acquire_time() -> None:
    taken = claimed(held_by("a"), config("b"), now=T1)
    assert holder_of(taken) == "b"
    assert taken["spec"]["acquireTime"] == T1
    assert taken["spec"]["leaseTransitions"] == 4


def test_a_released_lease_is_held_by_nobody_and_expires_in_a_second() -> None:
    spec = released(held_by("a"), now=T1)["spec"]
    assert holder_of({"spec": spec}) == ""
    assert spec["leaseDurationSeconds"] == 1
    assert spec["renewTime"] == T1
