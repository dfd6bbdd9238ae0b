"""The controller's metrics: names, labels and types on the page Prometheus scrapes."""

from __future__ import annotations

import prometheus_client
from prometheus_client.parser import text_string_to_metric_families

from gitward.api.metrics import CONTENT_TYPE, Registry, controller_metrics


def record_one_of_each(registry: Registry) -> None:
    metrics = controller_metrics(registry)
    metrics.reconcile_duration_seconds.labels(app="shop").observe(0.2)
    metrics.drift_detected_total.labels(app="shop", kind="modified").inc()
    metrics.drift_corrected_total.labels(app="shop", kind="modified").inc()
    metrics.sync_total.labels(app="shop", outcome="succeeded").inc()
    metrics.git_fetch_duration_seconds.observe(0.04)
    metrics.watch_restarts_total.labels(resource="apps/v1/deployments").inc()
    metrics.ownership_conflicts_total.labels(app="shop").inc()
    metrics.app_status.set("shop", sync="Synced", health="Healthy")
    metrics.app_last_successful_sync_timestamp_seconds.labels(app="shop").set(1.7e9)
    metrics.leader.set(1)
    metrics.shard_holder.labels(shard="3", replica="gitward-1_42").set(1)
    metrics.notifications_sent_total.labels(provider="ops", event="sync-failed").inc()
    metrics.notifications_failed_total.labels(provider="ops", event="sync-failed").inc()


def test_controller_metrics_keep_every_name_label_and_type() -> None:
    registry = Registry()
    record_one_of_each(registry)
    text = registry.render()

    types = {
        line.split()[2]: line.split()[3] for line in text.splitlines() if line.startswith("# TYPE ")
    }
    assert types == {
        "gitward_reconcile_duration_seconds": "histogram",
        "gitward_drift_detected_total": "counter",
        "gitward_drift_corrected_total": "counter",
        "gitward_sync_total": "counter",
        "gitward_ownership_conflicts_total": "counter",
        "gitward_app_sync_status": "gauge",
        "gitward_app_health_status": "gauge",
        "gitward_app_last_successful_sync_timestamp_seconds": "gauge",
        "gitward_git_fetch_duration_seconds": "histogram",
        "gitward_watch_restarts_total": "counter",
        "gitward_leader": "gauge",
        "gitward_shard_holder": "gauge",
        "gitward_commits_refused_total": "counter",
        "gitward_commit_refused": "gauge",
        "gitward_notifications_sent_total": "counter",
        "gitward_notifications_failed_total": "counter",
    }
    labels = {
        sample.name: set(sample.labels)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert labels["gitward_drift_detected_total"] == {"app", "kind"}
    assert labels["gitward_drift_corrected_total"] == {"app", "kind"}
    assert labels["gitward_sync_total"] == {"app", "outcome"}
    assert labels["gitward_reconcile_duration_seconds_bucket"] == {"app", "le"}
    assert labels["gitward_git_fetch_duration_seconds_bucket"] == {"le"}
    assert labels["gitward_watch_restarts_total"] == {"resource"}
    assert labels["gitward_ownership_conflicts_total"] == {"app"}
    assert labels["gitward_notifications_sent_total"] == {"provider", "event"}
    assert labels["gitward_notifications_failed_total"] == {"provider", "event"}
    assert labels["gitward_app_sync_status"] == {"app", "status"}
    assert labels["gitward_app_health_status"] == {"app", "status"}
    assert labels["gitward_app_last_successful_sync_timestamp_seconds"] == {"app"}
    assert labels["gitward_leader"] == set()
    assert labels["gitward_shard_holder"] == {"shard", "replica"}


def test_recorded_values_show_on_the_page() -> None:
    registry = Registry()
    record_one_of_each(registry)
    text = registry.render()

    assert 'gitward_drift_detected_total{app="shop",kind="modified"} 1.0\n' in text
    assert 'gitward_reconcile_duration_seconds_bucket{app="shop",le="0.25"} 1.0\n' in text
    assert 'gitward_git_fetch_duration_seconds_bucket{le="0.05"} 1.0\n' in text
    assert 'gitward_app_sync_status{app="shop",status="Synced"} 1.0\n' in text
    assert 'gitward_app_sync_status{app="shop",status="OutOfSync"} 0.0\n' in text
    assert 'gitward_app_health_status{app="shop",status="Healthy"} 1.0\n' in text
    assert 'gitward_app_health_status{app="shop",status="Degraded"} 0.0\n' in text
    assert 'gitward_watch_restarts_total{resource="apps/v1/deployments"} 1.0\n' in text
    assert "gitward_leader 1.0\n" in text
    assert "_created" not in text, "no creation-time series beside every counter"


def test_each_controller_has_its_own_registry_and_none_is_global() -> None:
    first, second = Registry(), Registry()
    record_one_of_each(first)
    controller_metrics(second)

    assert "gitward_leader 0.0" in second.render()
    assert "gitward_" not in prometheus_client.generate_latest().decode()
    assert "process_" not in first.render(), "no process collector on our page"


def test_the_page_is_the_text_format_0_0_4() -> None:
    assert CONTENT_TYPE.startswith("text/plain; version=0.0.4")
