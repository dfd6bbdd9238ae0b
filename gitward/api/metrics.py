"""A small Prometheus registry that renders the text exposition format 0.0.4.

The controller exports seven metrics. The official client library would be a
new dependency and would pull in its process and platform collectors. The text
format is simple: a ``# HELP`` and a ``# TYPE`` line per family, then one line
per sample. So the registry is written here, in a few hundred lines.

Thread safety: each family takes a lock while it creates a child and while it
is rendered, and each child takes a lock while it updates. The controller
records from its event loop, but a blocking step run in a worker thread may
record too; a render never sees a half-updated histogram.

Label sets are rendered in sorted order, so the output is the same for the same
data. That keeps the ``/metrics`` page diffable and its tests exact.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = [
    "DEFAULT_BUCKETS",
    "ControllerMetrics",
    "Counter",
    "Gauge",
    "Histogram",
    "Registry",
    "controller_metrics",
]

#: The Prometheus client's default buckets, in seconds.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


def format_value(value: float) -> str:
    """A sample value as Prometheus writes it: ``3``, ``0.25``, ``+Inf``, ``NaN``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def escape_label_value(value: str) -> str:
    """A label value for use inside double quotes: escapes ``\\``, ``"`` and newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    """HELP text: escapes ``\\`` and newline (double quotes stay as they are)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _label_text(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{name}="{escape_label_value(value)}"' for name, value in pairs)
    return f"{{{inner}}}" if inner else ""


class _CounterChild:
    """One labelled series of a counter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0.0

    def inc(self, n: float = 1) -> None:
        """Add ``n`` (>= 0): a counter only goes up."""
        if n < 0:
            raise ValueError(f"counter increment {n}: must not be negative")
        with self._lock:
            self._value += n

    @property
    def value(self) -> float:
        return self._value


class _GaugeChild:
    """One labelled series of a gauge."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0.0

    def set(self, value: float) -> None:
        with self._lock:
            self._value = float(value)

    def inc(self, n: float = 1) -> None:
        with self._lock:
            self._value += n

    def dec(self, n: float = 1) -> None:
        with self._lock:
            self._value -= n

    @property
    def value(self) -> float:
        return self._value


class _HistogramChild:
    """One labelled series of a histogram; counts per bucket, made cumulative on render."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self._lock = threading.Lock()
        self._bounds = bounds
        self._counts = [0] * len(bounds)
        self._sum = 0.0

    def observe(self, value: float) -> None:
        # The first bucket whose upper bound is >= value; the last bound is +Inf.
        index = bisect.bisect_left(self._bounds, value)
        with self._lock:
            self._counts[min(index, len(self._counts) - 1)] += 1
            self._sum += value

    def snapshot(self) -> tuple[list[int], float]:
        """Cumulative bucket counts (the last one is the total count) and the sum."""
        with self._lock:
            counts, total = list(self._counts), self._sum
        cumulative: list[int] = []
        running = 0
        for count in counts:
            running += count
            cumulative.append(running)
        return cumulative, total


ChildT = TypeVar("ChildT", _CounterChild, _GaugeChild, _HistogramChild)


class _Family(Generic[ChildT]):
    """A named metric with fixed label names and one child per label set."""

    kind: str = ""

    def __init__(self, name: str, *, help: str, labelnames: Sequence[str] = ()) -> None:
        if not _METRIC_NAME.match(name):
            raise ValueError(f"metric {name!r}: not a valid Prometheus metric name")
        for label in labelnames:
            if not _LABEL_NAME.match(label) or label.startswith("__"):
                raise ValueError(f"metric {name}: label {label!r} is not a valid label name")
        if len(set(labelnames)) != len(labelnames):
            raise ValueError(f"metric {name}: label names repeat: {list(labelnames)}")
        self.name = name
        self.help = help
        self.labelnames = tuple(labelnames)
        self._lock = threading.Lock()
        self._children: dict[tuple[str, ...], ChildT] = {}
        if not self.labelnames:
            # An unlabelled metric is one series that exists (at zero) from the start.
            self._children[()] = self._new_child()

    def _new_child(self) -> ChildT:
        raise NotImplementedError

    def labels(self, **values: str) -> ChildT:
        """The series for these label values, created at zero on first use."""
        if set(values) != set(self.labelnames):
            raise ValueError(
                f"metric {self.name}: labels {sorted(values)} given, "
                f"{sorted(self.labelnames)} expected"
            )
        key = tuple(str(values[label]) for label in self.labelnames)
        with self._lock:
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = self._new_child()
            return child

    def _only_child(self) -> ChildT:
        if self.labelnames:
            raise ValueError(
                f"metric {self.name}: has labels {list(self.labelnames)}; use .labels(...) first"
            )
        return self._children[()]

    def _series(self) -> list[tuple[tuple[tuple[str, str], ...], ChildT]]:
        with self._lock:
            items = sorted(self._children.items())
        return [(tuple(zip(self.labelnames, key, strict=True)), child) for key, child in items]

    def _samples(self) -> Iterator[str]:
        raise NotImplementedError

    def render(self) -> str:
        lines = [f"# HELP {self.name} {escape_help(self.help)}", f"# TYPE {self.name} {self.kind}"]
        lines.extend(self._samples())
        return "\n".join(lines) + "\n"


class Counter(_Family[_CounterChild]):
    """A total that only goes up: ``drifts.labels(app="shop", kind="Deployment").inc()``."""

    kind = "counter"

    def _new_child(self) -> _CounterChild:
        return _CounterChild()

    def inc(self, n: float = 1) -> None:
        self._only_child().inc(n)

    def _samples(self) -> Iterator[str]:
        for pairs, child in self._series():
            yield f"{self.name}{_label_text(pairs)} {format_value(child.value)}"


class Gauge(_Family[_GaugeChild]):
    """A value that is set, such as ``gitward_leader`` (0 or 1)."""

    kind = "gauge"

    def _new_child(self) -> _GaugeChild:
        return _GaugeChild()

    def set(self, value: float) -> None:
        self._only_child().set(value)

    def inc(self, n: float = 1) -> None:
        self._only_child().inc(n)

    def dec(self, n: float = 1) -> None:
        self._only_child().dec(n)

    def _samples(self) -> Iterator[str]:
        for pairs, child in self._series():
            yield f"{self.name}{_label_text(pairs)} {format_value(child.value)}"


class Histogram(_Family[_HistogramChild]):
    """Observations counted into buckets by upper bound, with their sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        *,
        help: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        bounds = [float(bound) for bound in buckets]
        if bounds and math.isinf(bounds[-1]) and bounds[-1] > 0:
            bounds.pop()
        if any(math.isnan(bound) for bound in bounds) or any(
            later <= earlier for earlier, later in itertools.pairwise(bounds)
        ):
            raise ValueError(f"metric {name}: buckets must increase strictly: {list(buckets)}")
        if "le" in labelnames:
            raise ValueError(f"metric {name}: a histogram cannot have a label named 'le'")
        self.bounds: tuple[float, ...] = (*bounds, math.inf)
        super().__init__(name, help=help, labelnames=labelnames)

    def _new_child(self) -> _HistogramChild:
        return _HistogramChild(self.bounds)

    def observe(self, value: float) -> None:
        self._only_child().observe(value)

    def _samples(self) -> Iterator[str]:
        for pairs, child in self._series():
            cumulative, total = child.snapshot()
            for bound, count in zip(self.bounds, cumulative, strict=True):
                labels = _label_text((*pairs, ("le", format_value(bound))))
                yield f"{self.name}_bucket{labels} {count}"
            yield f"{self.name}_sum{_label_text(pairs)} {format_value(total)}"
            yield f"{self.name}_count{_label_text(pairs)} {cumulative[-1]}"


MetricT = TypeVar("MetricT", Counter, Gauge, Histogram)


class Registry:
    """The metrics one process exports, rendered in the order they were registered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._metrics: dict[str, Counter | Gauge | Histogram] = {}

    def register(self, metric: MetricT) -> MetricT:
        """Add ``metric`` and return it; a second metric with the same name is an error."""
        with self._lock:
            if metric.name in self._metrics:
                raise ValueError(f"metric {metric.name}: already registered")
            self._metrics[metric.name] = metric
        return metric

    def render(self) -> str:
        """Every metric in the text exposition format 0.0.4."""
        with self._lock:
            metrics = list(self._metrics.values())
        return "".join(metric.render() for metric in metrics)


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
    app_sync_status: Gauge
    app_health_status: Gauge
    app_last_successful_sync_timestamp_seconds: Gauge
    leader: Gauge
    commits_refused_total: Counter
    commit_refused: Gauge


#: Reconciles range from a fast-path no-op (tens of ms) to a helm render plus wait (minutes).
RECONCILE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
#: A fetch of an up-to-date repository is ~50 ms; a cold clone can take a minute.
GIT_FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def controller_metrics(registry: Registry) -> ControllerMetrics:
    """Register the controller's metrics in ``registry`` and return them."""
    return ControllerMetrics(
        reconcile_duration_seconds=registry.register(
            Histogram(
                "gitward_reconcile_duration_seconds",
                help="Time to reconcile one app: render, plan, apply and wait.",
                labelnames=("app",),
                buckets=RECONCILE_BUCKETS,
            )
        ),
        drift_detected_total=registry.register(
            Counter(
                "gitward_drift_detected_total",
                help="Objects found to differ from git, by app and kind.",
                labelnames=("app", "kind"),
            )
        ),
        drift_corrected_total=registry.register(
            Counter(
                "gitward_drift_corrected_total",
                help="Drifted objects put back to the state in git, by app and kind.",
                labelnames=("app", "kind"),
            )
        ),
        sync_total=registry.register(
            Counter(
                "gitward_sync_total",
                help="Syncs by app and outcome.",
                labelnames=("app", "outcome"),
            )
        ),
        git_fetch_duration_seconds=registry.register(
            Histogram(
                "gitward_git_fetch_duration_seconds",
                help="Time to fetch the config repository.",
                buckets=GIT_FETCH_BUCKETS,
            )
        ),
        watch_restarts_total=registry.register(
            Counter(
                "gitward_watch_restarts_total",
                help="Watches restarted after they ended or failed, by resource.",
                labelnames=("resource",),
            )
        ),
        ownership_conflicts_total=registry.register(
            Counter(
                "gitward_ownership_conflicts_total",
                help="Syncs refused because another app or source owns an object or the records.",
                labelnames=("app",),
            )
        ),
        app_sync_status=registry.register(
            Gauge(
                "gitward_app_sync_status",
                help="1 for the app's current sync status (Synced, OutOfSync, Unknown), else 0.",
                labelnames=("app", "status"),
            )
        ),
        app_health_status=registry.register(
            Gauge(
                "gitward_app_health_status",
                help="1 for the app's current health (Healthy, Progressing, ...), else 0.",
                labelnames=("app", "status"),
            )
        ),
        app_last_successful_sync_timestamp_seconds=registry.register(
            Gauge(
                "gitward_app_last_successful_sync_timestamp_seconds",
                help="Unix time of the app's last successful sync.",
                labelnames=("app",),
            )
        ),
        leader=registry.register(
            Gauge("gitward_leader", help="1 while this replica holds the leader lease, else 0.")
        ),
        commits_refused_total=registry.register(
            Counter(
                "gitward_commits_refused_total",
                help="Commits not deployed because commit verification refused them.",
            )
        ),
        commit_refused=registry.register(
            Gauge(
                "gitward_commit_refused",
                help="1 while the branch head is refused by commit verification, else 0.",
            )
        ),
    )
