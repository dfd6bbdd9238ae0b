"""Per-app sync status and health as gauges, and health news for the notifiers."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gitward.api.metrics import ControllerMetrics
from gitward.heal.state import AppState
from gitward.health import Health, HealthStatus
from gitward.notify.notices import Notices
from gitward.status import SyncState


def publish_app_gauges(
    *,
    metrics: ControllerMetrics,
    apps: Mapping[str, AppState],
    health: Mapping[str, str],
    notices: Notices,
    health_of: Callable[[str], Health | None],
) -> None:
    """1 for each app's current sync status and health, 0 for the others, for alerts;
    the notifiers hear of each app's health (they report changes only)."""
    for name, state in apps.items():
        for sync in SyncState:
            metrics.app_sync_status.labels(app=name, status=sync.value).set(
                float(state.sync is sync)
            )
        current = health.get(name, HealthStatus.UNKNOWN.value)
        for status in HealthStatus:
            metrics.app_health_status.labels(app=name, status=status.value).set(
                float(status.value == current)
            )
        if notices.active and name in health:
            status = HealthStatus(current)
            # The reason only for degraded apps: they are rare, and it costs a walk.
            reason = ""
            if status is HealthStatus.DEGRADED and (found := health_of(name)) is not None:
                reason = found.message
            notices.health(state.spec, state.revision, status, reason)


__all__ = ["publish_app_gauges"]
