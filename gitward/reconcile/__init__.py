"""One sync of one app: plan, apply, prune, record, and optionally wait for health.

This is the seam the CLI and the controller share. It never prints. A sync
that fails (an invalid plan, a change the cluster refused, a hook that failed,
health that did not come) is a result, not an exception: :class:`SyncResult`
holds the real per-object outcomes, the outcome, its reason and the exit code
it implies, and the history records the same. It raises a
:class:`~gitward.errors.GitwardError` only when it cannot tell or record what
happened: the API server is unreachable, a record is corrupt or names another
source.

Crash safety is explained in :mod:`gitward.reconcile.syncing`.
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
