"""One sync of one app: plan, apply, prune, record, and optionally wait for health.

This is the seam the CLI and the controller share. It never prints. A sync
that fails (an invalid plan, a change the cluster refused, a hook that failed,
health that did not come) is a result, not an exception: :class:`SyncResult`
holds the real per-object outcomes, the outcome, its reason and the exit code
it implies, and the history records the same. It raises a
:class:`~gitward.errors.GitwardError` only when it cannot tell or record what
happened: the API server is unreachable, a record is corrupt or names another
source.

Crash safety: before the first write, the inventory is widened to the union of
what was applied before and what is about to be applied. A sync killed at any
point therefore leaves every object it may have created in some inventory, and
the next sync adopts or prunes it: no orphans, and server-side apply by name
makes duplicates impossible.
"""

from gitward.health.waiting import HealthTimeout, live_health, wait_healthy
from gitward.reconcile.recording import record_unrendered
from gitward.reconcile.results import (
    PlanInvalid,
    RecordsOwnedElsewhere,
    SyncOptions,
    SyncResult,
    exit_code_of,
    failure_reason,
)
from gitward.reconcile.syncing import plan_app, sync_app

__all__ = [
    "HealthTimeout",
    "PlanInvalid",
    "RecordsOwnedElsewhere",
    "SyncOptions",
    "SyncResult",
    "exit_code_of",
    "failure_reason",
    "live_health",
    "plan_app",
    "record_unrendered",
    "sync_app",
    "wait_healthy",
]
