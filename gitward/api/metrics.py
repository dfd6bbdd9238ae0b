"""The controller's Prometheus metrics, on ``prometheus_client``.

Each controller has a :class:`Registry` of its own rather than the client's
global default, so two controllers in one test process (or a test beside a
controller) never share a series, and ``/metrics`` shows the controller's
metrics only, without the client's process and platform collectors.

The engine records through :class:`ControllerMetrics`, whose fields are the
client's ``Counter``, ``Gauge`` and ``Histogram``: ``.labels(app=…).inc()``,
``.observe(seconds)`` and ``.set(value)``. The page is the text exposition
format 0.0.4, which every Prometheus version scrapes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from gitward.health import HealthStatus
from gitward.status import SyncState

__all__ = [
    "CONTENT_TYPE",
    "AppStatusGauges",
    "ControllerMetrics",
    "Counter",
    "Gauge",
    "Histogram",
    "Registry",
    "controller_metrics",
]

#: The media type of :meth:`Registry.render`'s text.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# A ``*_created`` gauge beside every counter and histogram series would double
# the page (one series per app and kind) for a timestamp nobody queries.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]


class Registry(CollectorRegistry):
    """The metrics one controller exports."""

    def render(self) -> str:
        """Every metric in the text exposition format 0.0.4."""
        return prometheus_client.generate_latest(self).decode("utf-8")


class AppStatusGauges:
    """``gitward_app_sync_status`` and ``gitward_app_health_status``: for each app a
    series per possible value, 1 for the current one, else 0.

    Drawn from a table of each app's two values when Prometheus scrapes, rather
    than kept as a ``Gauge`` child per app and value: each child holds its own
    locks and label copies (about 0.8 KB), ten per app, eight megabytes for
    1,000 apps, for values the controller holds anyway.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self._apps: dict[str, tuple[str, str]] = {}
        registry.register(self)

    def set(self, app: str, *, sync: str, health: str) -> None:
        self._apps[app] = (sync, health)

    def collect(self) -> Iterator[Metric]:
        sync = GaugeMetricFamily(
            "gitward_app_sync_status",
            "1 for the app's current sync status (Synced, OutOfSync, Unknown), else 0.",
            labels=("app", "status"),
        )
        health = GaugeMetricFamily(
            "gitward_app_health_status",
            "1 for the app's current health (Healthy, Progressing, ...), else 0.",
            labels=("app", "status"),
        )
        for app, (now_sync, now_health) in self._apps.items():
            for s in SyncState:
                sync.add_metric((app, s.value), float(s.value == now_sync))
            for h in HealthStatus:
                health.add_metric((app, h.value), float(h.value == now_health))
        yield sync
        yield health


@dataclass(frozen=True)
class ControllerMetrics:
    """The controller's metrics, registered together by :func:`controller_metrics`.

    Each field is named after its metric, without the ``gitward_`` prefix.
    """

    reconcile_duration_seconds: Histogram
    drift_detected_total: Counter
    drift_corrected_total: Counter
    sync_total: Counter
    git_fetch_duration_seconds: Histogram
    watch_restarts_total: Counter
    ownership_conflicts_total: Counter
    app_status: AppStatusGauges  # gitward_app_sync_status and gitward_app_health_status
    app_last_successful_sync_timestamp_seconds: Gauge
    leader: Gauge
    shard_holder: Gauge
    commits_refused_total: Counter
    commit_refused: Gauge
    notifications_sent_total: Counter
    notifications_failed_total: Counter


#: Reconciles range from a fast-path no-op (tens of ms) to a helm render plus wait (minutes).
RECONCILE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
#: A fetch of an up-to-date repository is ~50 ms; a cold clone can take a minute.
GIT_FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def controller_metrics(registry: Registry) -> ControllerMetrics:
    """Register the controller's metrics in ``registry`` and return them."""
    return ControllerMetrics(
        reconcile_duration_seconds=Histogram(
            "gitward_reconcile_duration_seconds",
            "Time to reconcile one app: render, plan, apply and wait.",
            labelnames=("app",),
            buckets=RECONCILE_BUCKETS,
            registry=registry,
        ),
        drift_detected_total=Counter(
            "gitward_drift_detected_total",
            "Objects found to differ from git, by app and kind.",
            labelnames=("app", "kind"),
            registry=registry,
        ),
        drift_corrected_total=Counter(
            "gitward_drift_corrected_total",
            "Drifted objects put back to the state in git, by app and kind.",
            labelnames=("app", "kind"),
            registry=registry,
        ),
        sync_total=Counter(
            "gitward_sync_total",
            "Syncs by app and outcome.",
            labelnames=("app", "outcome"),
            registry=registry,
        ),
        git_fetch_duration_seconds=Histogram(
            "gitward_git_fetch_duration_seconds",
            "Time to fetch the config repository.",
            buckets=GIT_FETCH_BUCKETS,
            registry=registry,
        ),
        watch_restarts_total=Counter(
            "gitward_watch_restarts_total",
            "Watches restarted after they ended or failed, by resource.",
            labelnames=("resource",),
            registry=registry,
        ),
        ownership_conflicts_total=Counter(
            "gitward_ownership_conflicts_total",
            "Syncs refused because another app or source owns an object or the records.",
            labelnames=("app",),
            registry=registry,
        ),
        app_status=AppStatusGauges(registry),
        app_last_successful_sync_timestamp_seconds=Gauge(
            "gitward_app_last_successful_sync_timestamp_seconds",
            "Unix time of the app's last successful sync.",
            labelnames=("app",),
            registry=registry,
        ),
        leader=Gauge(
            "gitward_leader",
            "1 while this replica holds the leader lease (sharded: any shard's), else 0.",
            registry=registry,
        ),
        shard_holder=Gauge(
            "gitward_shard_holder",
            "1 for the replica holding each shard's Lease, as this replica last read them "
            "(a replica's own shards are those whose replica is its identity).",
            labelnames=("shard", "replica"),
            registry=registry,
        ),
        commits_refused_total=Counter(
            "gitward_commits_refused_total",
            "Commits not deployed because commit verification refused them.",
            registry=registry,
        ),
        commit_refused=Gauge(
            "gitward_commit_refused",
            "1 while the branch head is refused by commit verification, else 0.",
            registry=registry,
        ),
        notifications_sent_total=Counter(
            "gitward_notifications_sent_total",
            "Notifications a receiver accepted, by provider and event.",
            labelnames=("provider", "event"),
            registry=registry,
        ),
        notifications_failed_total=Counter(
            "gitward_notifications_failed_total",
            "Notifications given up: refused by the receiver, or failing past the retry "
            "deadline; by provider and event.",
            labelnames=("provider", "event"),
            registry=registry,
        ),
    )
