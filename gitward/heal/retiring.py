"""Apps gone from ``gitward.yaml``, retired by the replica that serves their shard.

:mod:`gitward.retire` does the pruning; this room decides which of the
retired apps are this replica's to retire (with shards, each replica retires
only those of the shards it holds, so no object is deleted by two replicas)
and tells the log and the records how it went.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Collection

from gitward.errors import GitwardError
from gitward.heal.logs import event
from gitward.kube import Kube
from gitward.notify import ledger as notify_records
from gitward.retire import retire, retired
from gitward.review import deploys as deploy_records


async def retire_gone(
    kube: Kube, *, source: str, keys: Collection[str], owns: Callable[[str], bool]
) -> bool:
    """Retire the apps of ``source`` whose key is not in ``keys`` and that ``owns``
    says are ours. False when the API server could not be asked: try again later."""
    try:
        gone = [inv for inv in await retired(kube, source=source, keys=set(keys)) if owns(inv.app)]
        done_all = [await retire(kube, inv) for inv in gone]
    except GitwardError as e:
        # The API server may be down: the apps still get their status, and
        # the next refresh tries the removal again.
        event("error", logging.WARNING, error=f"removing apps gone from gitward.yaml: {e}")
        return False
    for done in done_all:
        event(
            "retired",
            logging.INFO if done.ok else logging.WARNING,
            app=done.app,
            pruned=str(len(done.pruned)),
            orphaned=str(len(done.orphaned)),
            kept=str(len(done.kept)),
            failed="; ".join(f"{ref}: {why}" for ref, why in done.failed),
        )
        if done.ok:
            # Its deploy statuses' ledger goes with its other records.
            with contextlib.suppress(GitwardError):
                await deploy_records.forget(kube, done.app)
                await notify_records.forget(kube, done.app)
    return True


__all__ = ["retire_gone"]
