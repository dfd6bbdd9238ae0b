"""The Prometheus registry renders exact text exposition format 0.0.4."""

from __future__ import annotations

import math

import pytest

from gitward.api.metrics import Counter, Gauge, Histogram, Registry, controller_metrics


def test_counters_and_gauges_render_help_type_and_sorted_series() -> None:
    registry = Registry()
    syncs = registry.register(
        Counter(
            "gitward_sync_total", help="Syncs by app and outcome.", labelnames=("app", "outcome")
        )
    )
    leader = registry.register(Gauge("gitward_leader", help="1 while leading."))
    syncs.labels(app="shop", outcome="succeeded").inc()
    syncs.labels(app="infra", outcome="succeeded").inc(2)
    syncs.labels(app="shop", outcome="succeeded").inc(0.5)
    leader.set(1)

    assert registry.render() == (
        "# HELP gitward_sync_total Syncs by app and outcome.\n"
        "# TYPE gitward_sync_total counter\n"
        'gitward_sync_total{app="infra",outcome="succeeded"} 2\n'
        'gitward_sync_total{app="shop",outcome="succeeded"} 1.5\n'
        "# HELP gitward_leader 1 while leading.\n"
        "# TYPE gitward_leader gauge\n"
        "gitward_leader 1\n"
    )


def test_histogram_buckets_are_cumulative_and_end_with_inf() -> None:
    registry = Registry()
    fetch = registry.register(
        Histogram("git_fetch_seconds", help="Fetch time.", buckets=(0.1, 0.5, 1))
    )
    for seconds in (0.05, 0.1, 0.3, 0.7, 2.5):
        fetch.observe(seconds)

    assert registry.render() == (
        "# HELP git_fetch_seconds Fetch time.\n"
        "# TYPE git_fetch_seconds histogram\n"
        'git_fetch_seconds_bucket{le="0.1"} 2\n'
        'git_fetch_seconds_bucket{le="0.5"} 3\n'
        'git_fetch_seconds_bucket{le="1"} 4\n'
        'git_fetch_seconds_bucket{le="+Inf"} 5\n'
        "git_fetch_seconds_sum 3.65\n"
        "git_fetch_seconds_count 5\n"
    )


def test_labelled_histogram_puts_le_after_its_labels() -> None:
    registry = Registry()
    reconcile = registry.register(
        Histogram("reconcile_seconds", help="h", labelnames=("app",), buckets=(1.0,))
    )
    reconcile.labels(app="shop").observe(3)

    assert registry.render().splitlines()[2:] == [
        'reconcile_seconds_bucket{app="shop",le="1"} 0',
        'reconcile_seconds_bucket{app="shop",le="+Inf"} 1',
        'reconcile_seconds_sum{app="shop"} 3',
        'reconcile_seconds_count{app="shop"} 1',
    ]


def test_label_values_escape_backslash_quote_and_newline() -> None:
    registry = Registry()
    drifts = registry.register(Counter("drifts_total", help="h", labelnames=("kind",)))
    drifts.labels(kind='a\\b "c"\nd').inc()

    assert registry.render().splitlines()[-1] == r'drifts_total{kind="a\\b \"c\"\nd"} 1'


def test_help_escapes_backslash_and_newline_but_not_quotes() -> None:
    registry = Registry()
    registry.register(Gauge("g", help='two\nlines with \\ and "quotes"'))

    assert registry.render().splitlines()[0] == r'# HELP g two\nlines with \\ and "quotes"'


def test_an_unlabelled_metric_starts_at_zero_and_a_labelled_one_has_no_series() -> None:
    registry = Registry()
    registry.register(Counter("plain_total", help="h"))
    registry.register(Counter("by_app_total", help="h", labelnames=("app",)))

    assert registry.render() == (
        "# HELP plain_total h\n# TYPE plain_total counter\nplain_total 0\n"
        "# HELP by_app_total h\n# TYPE by_app_total counter\n"
    )


def test_special_values_render_as_prometheus_spells_them() -> None:
    registry = Registry()
    gauge = registry.register(Gauge("g", help="h", labelnames=("v",)))
    gauge.labels(v="inf").set(math.inf)
    gauge.labels(v="nan").set(math.nan)
    gauge.labels(v="neg").set(-math.inf)
    gauge.labels(v="small").set(1e-7)

    assert registry.render().splitlines()[2:] == [
        'g{v="inf"} +Inf',
        'g{v="nan"} NaN',
        'g{v="neg"} -Inf',
        'g{v="small"} 1e-07',
    ]


def test_counters_refuse_to_go_down() -> None:
    counter = Counter("c_total", help="h")
    with pytest.raises(ValueError, match="must not be negative"):
        counter.inc(-1)


def test_labels_must_match_the_declared_names() -> None:
    counter = Counter("c_total", help="h", labelnames=("app", "kind"))
    with pytest.raises(ValueError, match=r"labels \['app'\] given"):
        counter.labels(app="shop")
    with pytest.raises(ValueError, match=r"use \.labels"):
        counter.inc()


def test_invalid_names_and_buckets_are_rejected() -> None:
    with pytest.raises(ValueError, match="not a valid Prometheus metric name"):
        Counter("bad-name", help="h")
    with pytest.raises(ValueError, match="not a valid label name"):
        Counter("c", help="h", labelnames=("__reserved",))
    with pytest.raises(ValueError, match="increase strictly"):
        Histogram("h", help="h", buckets=(1, 0.5))
    with pytest.raises(ValueError, match="'le'"):
        Histogram("h", help="h", labelnames=("le",))


def test_a_name_registers_once() -> None:
    registry = Registry()
    registry.register(Counter("c_total", help="h"))
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Gauge("c_total", help="h"))


def test_controller_metrics_defines_exactly_the_documented_metrics() -> None:
    registry = Registry()
    metrics = controller_metrics(registry)
    metrics.reconcile_duration_seconds.labels(app="shop").observe(0.2)
    metrics.drift_detected_total.labels(app="shop", kind="modified").inc()
    metrics.drift_corrected_total.labels(app="shop", kind="modified").inc()
    metrics.sync_total.labels(app="shop", outcome="succeeded").inc()
    metrics.git_fetch_duration_seconds.observe(0.04)
    metrics.watch_restarts_total.labels(resource="apps/v1/deployments").inc()
    metrics.leader.set(1)

    types = {
        line.split()[2]: line.split()[3]
        for line in registry.render().splitlines()
        if line.startswith("# TYPE ")
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
        "gitward_commits_refused_total": "counter",
        "gitward_commit_refused": "gauge",
    }
    text = registry.render()
    assert 'gitward_drift_detected_total{app="shop",kind="modified"} 1\n' in text
    assert 'gitward_reconcile_duration_seconds_bucket{app="shop",le="0.25"} 1\n' in text
    assert 'gitward_git_fetch_duration_seconds_bucket{le="0.05"} 1\n' in text
    assert 'gitward_watch_restarts_total{resource="apps/v1/deployments"} 1\n' in text
    assert "gitward_leader 1\n" in text
