"""Sharded controllers on the real control plane: three replicas, one killed with SIGKILL.

Who wrote what comes from the API server's audit log: each replica sends a
user agent of its own (``gitward-controller/<host>_<pid>``), and the session's
control plane logs every write with it.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitward.dev import cluster as devcluster
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import SETTINGS, ConfigRepo
from tests.e2e.test_controller import RunningController, eventually, kubectl, start_controller

SHARDS = 6
APPS = 8
LEASE = 3.0  # start_controller's --lease-seconds
HEAL_BOUND = LEASE + 2.0
WRITES = {"create", "update", "patch", "delete"}


def agent(running: RunningController) -> str:
    return f"gitward-controller/{socket.gethostname()}_{running.proc.pid}"


def audited_writes(log: Path, *, since: int, agents: set[str]) -> list[dict[str, Any]]:
    """Successful writes (dry runs left out) by ``agents`` logged after byte ``since``."""
    out = []
    with log.open() as f:
        f.seek(since)
        for line in f:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line still being written
            if event.get("userAgent") not in agents or event.get("verb") not in WRITES:
                continue
            if "dryRun=All" in event.get("requestURI", ""):
                continue
            if not 200 <= (event.get("responseStatus") or {}).get("code", 0) < 300:
                continue
            out.append(event)
    return out


def written_object(event: dict[str, Any]) -> str:
    ref = event.get("objectRef") or {}
    return f"{ref.get('resource')}/{ref.get('namespace', '')}/{ref.get('name', '')}"


def colour(cluster: Cluster, namespace: str, i: int) -> str:
    cm = cluster.get("v1", "ConfigMap", f"settings-{i}", namespace) or {}
    return str((cm.get("data") or {}).get("colour", ""))


def test_a_killed_replicas_apps_keep_self_healing_and_no_object_has_two_writers(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    log = devcluster.audit_log()
    if not log.exists():
        pytest.skip("the reused control plane keeps no audit log; start it from the tests")
    names = [f"{app_name}-{i}" for i in range(APPS)]
    repo = ConfigRepo(tmp_path / "config")
    repo.write(
        "gitward.yaml",
        {
            "apps": [
                {
                    "name": name,
                    "path": f"app{i}",
                    "namespace": namespace,
                    "autoSync": True,
                    "selfHeal": True,
                }
                for i, name in enumerate(names)
            ]
        },
    )
    for i in range(APPS):
        repo.write(
            f"app{i}/settings.yaml", SETTINGS.format("blue").replace("settings", f"settings-{i}")
        )
    repo.commit("apps")
    since = log.stat().st_size
    lease = f"shards-{namespace}"
    args = ("--shards", str(SHARDS))
    replicas = [
        start_controller(repo, tmp_path, leader_election=True, name=n, lease=lease, extra_args=args)
        for n in ("a", "b", "c")
    ]
    try:

        def spread() -> bool:
            views = [r.get("/api/v1/shards") for r in replicas]
            return sorted(len(v["served"]) for v in views) == [2, 2, 2]

        eventually(spread, timeout=60, what="two shards per replica")

        def serving() -> dict[str, RunningController]:
            out = {}
            for r in replicas:
                for app in r.get("/api/v1/apps")["apps"]:
                    if app["sync"] == "Synced":
                        out[app["name"]] = r
            return out if len(out) == APPS else {}

        by_app = eventually(serving, timeout=60, what="every app Synced on one replica")
        victim = max(replicas, key=lambda r: sum(1 for x in by_app.values() if x is r))
        survivors = [r for r in replicas if r is not victim]
        victim_apps = sorted(n for n, r in by_app.items() if r is victim)
        assert victim_apps, "the victim serves no app"

        # The API and the metrics (published every 2 s) say who holds each shard.
        def told() -> bool:
            holders = victim.get("/api/v1/shards")["holders"]
            metrics = httpx.get(victim.url + "/metrics", timeout=5).text
            return sorted(holders) == [str(s) for s in range(SHARDS)] and all(
                f'gitward_shard_holder{{replica="{h}",shard="{s}"}} 1.0' in metrics
                for s, h in holders.items()
            )

        eventually(told, timeout=10, what="the holders in the API and the metrics")
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait()
        killed_at = time.monotonic()
        hit = int(victim_apps[0].rsplit("-", 1)[1])
        kubectl(
            cluster, "-n", namespace, "patch", "configmap", f"settings-{hit}",
            "--type=merge", "-p", '{"data":{"colour":"red"}}',
        )  # fmt: skip
        eventually(
            lambda: colour(cluster, namespace, hit) == "blue",
            timeout=HEAL_BOUND + 10,
            what="the killed replica's app healed",
        )
        healed_in = time.monotonic() - killed_at
        assert healed_in < HEAL_BOUND, f"healed {healed_in:.1f}s after the kill"

        def taken_over() -> bool:
            views = [r.get("/api/v1/shards") for r in survivors]
            return sorted(len(v["served"]) for v in views) == [3, 3]

        eventually(taken_over, timeout=10, what="three shards per survivor")
        time.sleep(1.0)  # the audit log is written asynchronously
        writes = audited_writes(log, since=since, agents={agent(r) for r in replicas})
        by_object: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for w in writes:
            by_object[written_object(w)].append((w["stageTimestamp"], w["userAgent"]))
        assert any(f"settings-{hit}" in obj for obj in by_object), "no heal in the audit log"
        for obj, seq in by_object.items():
            seq.sort()
            turns = [ua for i, (_, ua) in enumerate(seq) if i == 0 or ua != seq[i - 1][1]]
            # A shard changes hands only once its holder stopped writing (at start-up,
            # or the kill): an object's writers take turns once each, never back and forth.
            assert len(turns) == len(set(turns)), f"{obj} written by turns by {turns}"
        (_, last), *_ = sorted(by_object[f"configmaps/{namespace}/settings-{hit}"], reverse=True)
        assert last in {agent(r) for r in survivors}

        # A replica stopped with SIGTERM hands its shards over at once, not after expiry.
        leaving, staying = survivors
        leaving.proc.send_signal(signal.SIGTERM)
        assert leaving.proc.wait(timeout=30) == 0, leaving.log.read_text()[-2000:]
        stopped_at = time.monotonic()
        eventually(
            lambda: len(staying.get("/api/v1/shards")["served"]) == SHARDS,
            timeout=LEASE + 5,
            what="every shard on the last replica",
        )
        assert time.monotonic() - stopped_at < LEASE, "the shards waited for expiry"
    finally:
        for r in replicas:
            r.stop()
        cluster.forget_apps(*names)
        for held in cluster.list("coordination.k8s.io/v1", "Lease", "gitward-system"):
            if held["metadata"]["name"].startswith(f"{lease}-"):
                cluster.delete(
                    "coordination.k8s.io/v1", "Lease", held["metadata"]["name"], "gitward-system"
                )
