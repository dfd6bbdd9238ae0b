"""Shards: which apps a replica serves, and which shards it should claim.

An app belongs to shard ``sha256(app key) mod N`` (apps linked by ``dependsOn``
go by the least key among them, so they stay together and in order): stable across processes,
machines and Python versions (``hash()`` is salted per process), and it does
not depend on the order of ``gitward.yaml``. Each shard has a Lease; each
replica also keeps a Lease of its own as its membership, so every replica can
count the live ones and claim at most ``ceil(N / live)`` shards. That bound is
what spreads the shards evenly: with 3 replicas and 12 shards each holds 4, and
when one dies the other two may claim 6 each and take its shards over.

Pure functions and data; :mod:`gitward.heal.sharding` does the Lease writes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from math import ceil

from gitward.config.apps import AppSpec

#: Labels on the Leases, so one list finds every member and shard of one controller.
GROUP_LABEL = "gitward.dev/lease-group"
ROLE_LABEL = "gitward.dev/lease-role"


def group_keys(apps: Sequence[AppSpec]) -> dict[str, str]:
    """Per app name, the key its shard is chosen by: the least identity key among
    the apps its ``dependsOn`` links it to, either way. Apps that wait for one
    another so share a shard, and the replica serving them keeps their order."""
    parent = {spec.name: spec.name for spec in apps}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for spec in apps:
        for dep in spec.depends_on:
            if dep in parent:
                parent[root(spec.name)] = root(dep)
    least: dict[str, str] = {}
    for spec in apps:
        top = root(spec.name)
        least[top] = min(least.get(top, spec.id.key), spec.id.key)
    return {spec.name: least[root(spec.name)] for spec in apps}


def shard_of(key: str, count: int) -> int:
    """The shard of the app whose identity key is ``key``, out of ``count``."""
    if count <= 1:
        return 0
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


@dataclass(frozen=True)
class Assignment:
    """The shards this replica serves, out of ``count``; ``count == 1``: one shard, all apps."""

    count: int = 1
    served: frozenset[int] = frozenset({0})

    def serves(self, key: str) -> bool:
        return shard_of(key, self.count) in self.served


def fair_share(shards: int, live_replicas: int) -> int:
    """How many shards one replica may hold while ``live_replicas`` share ``shards``."""
    return ceil(shards / max(live_replicas, 1))


def preferred_order(shards: int, *, rank: int, share: int) -> list[int]:
    """Shard numbers in the order a replica of ``rank`` (among the live, by identity)
    tries to claim them: its own stretch first, so replicas starting together
    rarely race for the same Lease."""
    start = (rank * share) % shards if shards else 0
    return [(start + i) % shards for i in range(shards)]


def to_claim(
    *, free: Collection[int], held: Collection[int], shards: int, rank: int, share: int
) -> list[int]:
    """Which free shards to claim now: up to ``share`` held in all, own stretch first."""
    room = share - len(held)
    if room <= 0:
        return []
    order = preferred_order(shards, rank=rank, share=share)
    return [s for s in order if s in free and s not in held][:room]


def to_release(*, held: Sequence[int], share: int) -> list[int]:
    """Which held shards to hand back because a new replica lowered the share.

    The highest numbers go, so replicas agree without talking about which."""
    extra = len(held) - share
    return sorted(held)[-extra:] if extra > 0 else []


def shard_lease_name(group: str, shard: int) -> str:
    return f"{group}-shard-{shard}"


def member_lease_name(group: str, identity: str) -> str:
    """A Lease name for ``identity`` (a Lease name is a DNS subdomain: no ``_``, lower case).

    A digest keeps two identities that differ only in dropped characters apart."""
    slug = re.sub(r"[^a-z0-9-]+", "-", identity.lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    return f"{group}-member-{slug or 'replica'}-{digest}"


__all__ = [
    "GROUP_LABEL",
    "ROLE_LABEL",
    "Assignment",
    "fair_share",
    "group_keys",
    "member_lease_name",
    "preferred_order",
    "shard_lease_name",
    "shard_of",
    "to_claim",
    "to_release",
]
