"""Results as plain dicts, for ``--output json|yaml`` and for tables."""

from __future__ import annotations

from typing import Any

from gitward.plan.model import Plan
from gitward.reconcile import SyncResult
from gitward.runs import AppRun
from gitward.status import AppStatus


def plan_view(plan: Plan) -> dict[str, Any]:
    return {
        "app": plan.app,
        "inSync": plan.in_sync,
        "objects": [
            {
                "object": str(o.ref),
                "action": o.action.value,
                "source": o.source,
                **({"diff": o.diff} if o.diff else {}),
                **({"reason": o.reason} if o.reason else {}),
            }
            for o in plan.objects
        ],
        "errors": [str(e) for e in plan.errors],
        "inventoryRebuilt": plan.rebuilt,
    }


def sync_view(result: SyncResult) -> dict[str, Any]:
    view: dict[str, Any] = {
        "app": result.app,
        "revision": result.revision.sha,
        "dryRun": result.changes is None,
        "succeeded": result.succeeded,
        "result": result.outcome.value,
        "reason": result.reason,
        "exitCode": int(result.exit_code),
        "recorded": result.recorded,
        "durationSeconds": round(result.duration_seconds, 3),
    }
    if result.changes is not None:
        view["changes"] = [c.to_dict() for c in result.changes.changes]
    else:
        view["plan"] = plan_view(result.plan)["objects"]
    if result.health is not None:
        view["health"] = result.health.status.value
    return view


def run_view(run: AppRun) -> dict[str, Any]:
    """An app of a run that never got as far as a sync result (skipped, or not renderable)."""
    return {
        "app": run.app,
        "succeeded": run.succeeded,
        "result": run.outcome.value,
        "reason": run.reason,
        "exitCode": int(run.exit_code),
        "recorded": False,
    }


def status_view(status: AppStatus) -> dict[str, Any]:
    return {
        "app": status.app,
        "sync": status.sync.value,
        "health": status.health.status.value if status.health else None,
        "reason": status.reason,
        "revision": status.revision,
        "lastSyncedRevision": status.last_synced_revision,
        "lastSyncedAt": status.last_synced_at,
        "lastSyncResult": status.last_sync_result.value if status.last_sync_result else None,
        "objects": [
            {
                "object": o.object,
                "sync": o.sync.value,
                "health": o.health.status.value,
                "message": o.health.message,
                "reason": o.reason,
            }
            for o in status.objects
        ],
        "errors": list(status.errors),
        "inventoryRebuilt": status.inventory_rebuilt,
    }
