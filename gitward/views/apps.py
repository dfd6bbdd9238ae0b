"""One app, as ``gitward status`` and the controller's API both show it.

The two see an app from different places (the CLI plans against git and the
cluster, the controller answers from what its watches hold), but they show it
in one shape, kind ``App``: ``name``, ``sync``, ``health``, ``revision``,
``lastSyncedAt``, ``lastSyncResult``, ``message`` and ``objects`` mean the same
in both, and each adds only what it alone knows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gitward.health import Health
from gitward.record.drifts import DriftRecord
from gitward.record.history import SyncOutcome
from gitward.status import AppStatus, SyncState
from gitward.views.encoding import document, encode
from gitward.views.records import drift_view

KIND = "App"


def status_view(status: AppStatus) -> dict[str, Any]:
    """``gitward status``: the app planned against git and the cluster, object by object."""
    return document(
        KIND,
        {
            "name": status.app,
            "sync": status.sync.value,
            "health": status.health.status.value if status.health else None,
            "revision": status.revision,
            "lastSyncedRevision": status.last_synced_revision,
            "lastSyncedAt": status.last_synced_at,
            "lastSyncResult": encode(status.last_sync_result),
            "message": status.reason,
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
            "charts": list(status.charts),
            "errors": list(status.errors),
            "inventoryRebuilt": status.inventory_rebuilt,
        },
    )


@dataclass(frozen=True)
class ObjectHealth:
    object: str
    health: Health


@dataclass(frozen=True)
class ControlledApp:
    """An app as the controller holds it in memory."""

    name: str
    sync: SyncState
    health: str
    revision: str
    last_synced_at: str
    last_sync_result: SyncOutcome | None
    message: str
    fighting: str  # whom it fights with, while another writer keeps coming back
    auto_sync: bool
    self_heal: bool
    # The branch head commit verification refused, and why; "" when none is refused.
    refused_commit: str = ""
    refusal: str = ""
    # ``name@version`` (and the code commit) of the charts the last successful sync deployed.
    charts: tuple[str, ...] = ()


def controlled_app_view(app: ControlledApp) -> dict[str, Any]:
    """One app in the API's list."""
    return document(KIND, {**encode(app), "lastSyncedRevision": app.revision})


def controlled_app_detail_view(
    app: ControlledApp,
    *,
    objects: Iterable[ObjectHealth],
    drifts: Iterable[DriftRecord],
    git_error: str,
) -> dict[str, Any]:
    """One app in full: its objects with their health, and the drift seen on them."""
    return {
        **controlled_app_view(app),
        "objects": [
            {"object": o.object, "health": o.health.status.value, "message": o.health.message}
            for o in sorted(objects, key=lambda o: o.object)
        ],
        "drifts": [drift_view(d) for d in drifts],
        "gitError": git_error,
    }
