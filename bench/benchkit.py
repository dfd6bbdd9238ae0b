"""What the benchmarks share: a control plane of their own, the controller, the audit log.

* :func:`control_plane`: a fresh dev control plane (optionally with an audit
  policy) in a temporary directory, with a state and a namespace of its own,
  stopped however the benchmark ends;
* :func:`start_controller`: ``gitward controller`` on a config repository,
  listening on a free loopback port, logging to a file;
* :class:`Audit`: requests counted by user agent from the audit log;
* :func:`etcd_fsyncs`: etcd's WAL fsyncs so far (a serial client waits on each);
* :func:`app_objects`, :func:`make_repo`: the controller benchmarks' workload.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import yaml

from gitward.dev.ports import free_port

AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
"""
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection"}


@dataclass(frozen=True)
class ControlPlane:
    work: Path  # the benchmark's temporary directory
    kubeconfig: str
    audit_log: Path | None  # with ``audited``
    etcd: str = ""  # etcd's client URL, for :func:`etcd_fsyncs`


@contextmanager
def control_plane(name: str, *, audited: bool = False) -> Iterator[ControlPlane]:
    """A dev control plane for one benchmark, in ``GITWARD_STATE`` and namespace of its own."""
    from gitward.dev import cluster as devcluster

    with tempfile.TemporaryDirectory(prefix=f"gitward-{name}-") as tmp:
        work = Path(tmp)
        os.environ["GITWARD_STATE"] = str(work / "state")
        os.environ["GITWARD_NAMESPACE"] = f"gitward-{name}"
        policy = None
        if audited:
            policy = work / "audit-policy.yaml"
            policy.write_text(AUDIT_POLICY)
        up = devcluster.up(audit_policy=policy)
        try:
            yield ControlPlane(
                work=work,
                kubeconfig=up.cluster.kubeconfig,
                audit_log=devcluster.audit_log() if audited else None,
                etcd=_etcd_url(work / "state" / "dev.json"),
            )
        finally:
            devcluster.down()


def _etcd_url(state: Path) -> str:
    try:
        return f"http://127.0.0.1:{json.loads(state.read_text())['ports']['etcd']}"
    except (OSError, ValueError, KeyError):
        return ""


@dataclass(frozen=True)
class Fsyncs:
    """etcd's WAL fsyncs: how many, and their total seconds (from its /metrics)."""

    count: int = 0
    seconds: float = 0.0

    def __sub__(self, other: Fsyncs) -> Fsyncs:
        return Fsyncs(self.count - other.count, self.seconds - other.seconds)

    @property
    def mean_ms(self) -> float:
        return self.seconds / self.count * 1000 if self.count else float("nan")


def etcd_fsyncs(url: str) -> Fsyncs:
    """The WAL fsyncs etcd at ``url`` has made; zero when it cannot be asked.

    Every write commits through one; a client that writes one object after
    another (kubectl) waits on each, while concurrent writes share them. So
    the disk's fsync time of the moment sets the floor's pace, and the count
    shows how far a run's writes were batched.
    """
    import urllib.request

    if not url:
        return Fsyncs()
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return Fsyncs()
    found: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name.startswith("etcd_disk_wal_fsync_duration_seconds_"):
            found[name.rsplit("_", 1)[1]] = float(value)
    return Fsyncs(int(found.get("count", 0)), found.get("sum", 0.0))


def component_cpu(work: Path) -> dict[str, float]:
    """CPU seconds (user + system) each control-plane component of the benchmark's
    plane in ``work`` has used so far, by program name: where a run's cores went
    besides the client under test."""
    import psutil

    # Started through links in the plane's own state directory (their targets are
    # the shared tool cache), so the command line tells this plane's apart.
    bin_dir = str(work / "state")
    out: dict[str, float] = {}
    for proc in psutil.process_iter(["cmdline", "cpu_times"]):
        argv = proc.info.get("cmdline") or [""]
        times = proc.info.get("cpu_times")
        if not argv or not argv[0].startswith(bin_dir) or times is None:
            continue
        name = Path(argv[0]).name
        out[name] = out.get(name, 0.0) + times.user + times.system
    return out


def cpu_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after[k] - before.get(k, 0.0), 1) for k in sorted(after)}


def start_controller(
    repo: str, *, env: dict[str, str], log: Path, extra: Sequence[str] = ()
) -> tuple[subprocess.Popen[bytes], str]:
    """``gitward controller`` on the ``main`` branch of the repository at URL ``repo``
    (polled every 10 minutes, no leader election); the process and its URL.
    Stop it with :func:`stop`."""
    port = free_port()
    cmd = [
        str(Path(sys.executable).parent / "gitward"),
        "controller",
        "--repo",
        repo,
        "--revision",
        "main",
        "--listen",
        f"127.0.0.1:{port}",
        "--no-leader-election",
        "--poll-interval",
        "600",
        *extra,
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}"


def stop(proc: subprocess.Popen[bytes] | None, *, timeout: float = 60.0) -> None:
    if proc is not None:
        proc.terminate()
        proc.wait(timeout=timeout)


def idle(pid: int, seconds: float) -> tuple[float, float]:
    """Process ``pid``'s CPU (% of one core) over the next ``seconds``, and its RSS (MiB)."""
    ps = psutil.Process(pid)
    cpu0 = sum(ps.cpu_times()[:2])
    time.sleep(seconds)
    return (sum(ps.cpu_times()[:2]) - cpu0) / seconds * 100, ps.memory_info().rss / 2**20


class Audit:
    """Counts audit events by user agent since the last :meth:`mark`.

    :attr:`detail` breaks the last count down by verb, resource and whether a
    request named an object or a collection; :attr:`latency` gives the API
    server's own time per verb (received to response complete, watches left
    out), median and p95 in milliseconds: whether a client waited on the
    server or on itself."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.inode = 0
        self.detail: Counter[str] = Counter()
        self.latency: dict[str, tuple[float, float]] = {}

    def mark(self) -> None:
        now = self.path.stat() if self.path.exists() else None
        self.offset, self.inode = (now.st_size, now.st_ino) if now else (0, 0)

    def count(
        self, agent_prefix: str, *, watches: bool = False, leave_out_user: str = ""
    ) -> Counter[str]:
        """Requests by verb. ``watches``: a watch counts once, when it starts (it
        never completes while it streams); ``leave_out_user``: requests made as
        that (impersonated) user are not counted."""
        verbs: Counter[str] = Counter()
        self.detail = Counter()
        took: dict[str, list[float]] = {}
        now = self.path.stat()
        if now.st_size < self.offset or (self.inode and now.st_ino != self.inode):
            # Counting from the mark in a new file would miss requests, or all of them.
            raise RuntimeError(f"{self.path}: the audit log was rotated since its mark")
        with self.path.open() as f:
            f.seek(self.offset)
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                verb = event.get("verb", "")
                done = "ResponseStarted" if watches and verb == "watch" else "ResponseComplete"
                if event.get("stage") != done:
                    continue
                if not str(event.get("userAgent", "")).lower().startswith(agent_prefix):
                    continue
                user = (event.get("impersonatedUser") or {}).get("username")
                if leave_out_user and user == leave_out_user:
                    continue
                ref = event.get("objectRef") or {}
                if ref.get("resource") is None and verb == "get":
                    verb = "discovery"
                dry = "-dry-run" if "dryRun=All" in str(event.get("requestURI", "")) else ""
                verbs[verb + dry] += 1
                what = ref.get("resource") or "(discovery)"
                if ref.get("subresource"):
                    what += "/" + ref["subresource"]
                where = "named" if ref.get("name") else "collection"
                self.detail[f"{verb}{dry} {what} ({where})"] += 1
                if verb != "watch":
                    took.setdefault(verb + dry, []).append(_server_ms(event))
        self.latency = {
            v: (round(percentile(ms, 50), 1), round(percentile(ms, 95), 1))
            for v, ms in took.items()
        }
        return verbs


def _server_ms(event: dict[str, Any]) -> float:
    start = datetime.fromisoformat(event["requestReceivedTimestamp"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(event["stageTimestamp"].replace("Z", "+00:00"))
    return (end - start).total_seconds() * 1000


def app_objects(app: str, objects: int) -> list[dict[str, Any]]:
    """One Deployment (1 replica) and ``objects - 1`` ConfigMaps."""
    labels = {"app": app}
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "web", "image": "example.com/web:1"}]},
                },
            },
        }
    ]
    for i in range(objects - 1):
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"cm-{i}"},
                "data": {"i": str(i)},
            }
        )
    return docs


def make_repo(path: Path, apps: int, objects: int) -> None:
    """A config repository of ``apps`` apps (``app-<n>`` in namespaces of their own,
    ``autoSync`` + ``selfHeal``) of :func:`app_objects` each, committed on ``main``."""
    spec = []
    for a in range(apps):
        name = f"app-{a}"
        spec.append(
            {
                "name": name,
                "path": f"apps/{name}",
                "namespace": name,
                "createNamespace": True,
                "autoSync": True,
                "selfHeal": True,
            }
        )
        target = path / "apps" / name / "objects.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump_all(app_objects(name, objects)))
    (path / "gitward.yaml").write_text(yaml.safe_dump({"apps": spec}))
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@b",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@b",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "bench"]):
        subprocess.run(["git", "-C", str(path), *args], check=True, env=env)


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of ``values``."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]
