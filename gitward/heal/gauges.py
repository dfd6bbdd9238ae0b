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
    published: dict[str, tuple[SyncState, str, bool]],
) -> None:
    """1 for each app's current sync status and health, 0 for the others, for alerts;
    the notifiers hear of each app's health (they report changes only).

    Called every few seconds: only the apps whose status or health changed
    since what ``published`` remembers are published again, so a thousand
    idle apps cost one comparison each."""
    for name, state in apps.items():
        current = health.get(name, HealthStatus.UNKNOWN.value)
        shown = (state.sync, current, name in health)
        if published.get(name) == shown:
            continue
        published[name] = shown
        metrics.app_status.set(name, sync=state.sync.value, health=current)
        if notices.active and name in health:
            status = HealthStatus(current)
            # The reason only for degraded apps: they are rare, and it costs a walk.
            reason = ""
            if status is HealthStatus.DEGRADED and (found := health_of(name)) is not None:
                reason = found.message
            notices.health(state.spec, state.revision, status, reason)


__all__ = ["publish_app_gauges"]
