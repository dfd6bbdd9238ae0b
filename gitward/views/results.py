"""What one command did: a plan, a sync, an app of a run that never got to sync."""

from __future__ import annotations

from typing import Any

from gitward.plan.model import Plan
from gitward.reconcile import SyncResult
from gitward.runs import AppRun
from gitward.views.encoding import document


def plan_view(plan: Plan) -> dict[str, Any]:
    return document("Plan", {"app": plan.app, **_plan_body(plan)})


def _plan_body(plan: Plan) -> dict[str, Any]:
    return {
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
        view["changes"] = [
            {"object": str(c.ref), "outcome": c.outcome.value, "message": c.message}
            for c in result.changes.changes
        ]
    else:
        view["plan"] = _plan_body(result.plan)["objects"]
    if result.health is not None:
        view["health"] = result.health.status.value
    if result.plan.errors:
        view["errors"] = [str(e) for e in result.plan.errors]
    return document("SyncResult", view)


def run_view(run: AppRun) -> dict[str, Any]:
    """An app of a run that never got as far as a sync result (skipped, or not renderable)."""
    return document(
        "SyncResult",
        {
            "app": run.app,
            "succeeded": run.succeeded,
            "result": run.outcome.value,
            "reason": run.reason,
            "exitCode": int(run.exit_code),
            "recorded": False,
        },
    )
