"""Controller policies and failures: manual apps, selfHeal off, partial reconciles, git outages,
events, metrics, and leader failover."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Cluster
from tests.e2e.helpers import SETTINGS, ConfigRepo, one_app, two_apps, unreachable_api_server
from tests.e2e.test_controller import (
    RunningController,
    colour,
    eventually,
    kubectl,
    start_controller,
)


def test_a_manual_app_is_only_marked_out_of_sync_and_self_heal_off_only_reports(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = two_apps(tmp_path, namespace, app_name, autoSync=False)
    running = start_controller(repo, tmp_path)
    other = f"{app_name}-b"
    try:
        eventually(lambda: running.app(app_name)["sync"] == "Synced", what="auto app synced")
        # Apps are reconciled one after another: the manual one may not be planned yet.
        eventually(lambda: running.app(other)["sync"] == "OutOfSync", what="manual app planned")
        assert cluster.get("apps/v1", "Deployment", "web", namespace) is None, "manual app deployed"

        # The auto app has selfHeal on; flip it off and drift must only be reported.
        config = (
            (repo.path / "gitward.yaml").read_text().replace("selfHeal: true", "selfHeal: false")
        )
        repo.write("gitward.yaml", config)
        repo.commit("self heal off")
        eventually(lambda: not running.app(app_name)["selfHeal"], what="new config loaded")
        cluster.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": namespace},
                "data": {"colour": "pink"},
            },
            field_manager="hand",
            force=True,
        )
        record = eventually(lambda: running.drifts(app_name), what="drift reported")[0]
        assert record["outcome"] == "reported" and record["actor"] == "hand"
        assert "data.colour" in record["fields"]
        time.sleep(2)
        assert colour(cluster, namespace) == "pink", "selfHeal off must change nothing"
        assert running.app(app_name)["sync"] == "OutOfSync"
    finally:
        running.stop()
        cluster.forget_apps(other)


def syncs(running: RunningController, app: str) -> float:
    """How many syncs of ``app`` the controller has counted, whatever their outcome."""
    text = httpx.get(running.url + "/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("gitward_sync_total{") and f'app="{app}"' in line
    )


def test_a_commit_reconciles_only_the_apps_it_touches_and_a_broken_app_does_not_stop_others(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = two_apps(tmp_path, namespace, app_name, autoSync=True)
    other = f"{app_name}-b"
    running = start_controller(repo, tmp_path)
    try:
        eventually(
            lambda: running.app(app_name)["sync"] == running.app(other)["sync"] == "Synced",
            what="both synced",
        )
        first_other = syncs(running, other)
        repo.write("auto/settings.yaml", SETTINGS.format("green"))
        repo.commit("only the auto app")
        eventually(lambda: colour(cluster, namespace) == "green", what="auto app updated")
        assert syncs(running, other) == first_other, "an untouched app was re-synced"

        repo.write("other/web.yaml", "kind: [broken\n")
        repo.write("auto/settings.yaml", SETTINGS.format("yellow"))
        repo.commit("break one app, change the other")
        eventually(lambda: colour(cluster, namespace) == "yellow", what="healthy app still synced")
        broken = eventually(lambda: running.app(other)["message"], what="render error in status")
        assert "web.yaml" in broken
    finally:
        running.stop()
        cluster.forget_apps(other)


def test_git_outage_keeps_the_last_good_revision_and_shows_the_error(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = two_apps(tmp_path, namespace, app_name, autoSync=True)
    running = start_controller(repo, tmp_path)
    try:
        eventually(lambda: running.app(app_name)["sync"] == "Synced", what="synced")
        revision = running.app(app_name)["revision"]
        moved = tmp_path / "moved"
        shutil.move(repo.path, moved)
        error = eventually(lambda: running.app(app_name)["gitError"], what="git error shown")
        assert repo.url.removeprefix("file://") in error
        assert running.app(app_name)["revision"] == revision
        kubectl(cluster, "delete", "configmap/settings", "-n", namespace)
        eventually(
            lambda: colour(cluster, namespace) == "blue",
            what="still heals from the last good revision",
        )
        shutil.move(moved, repo.path)
        eventually(lambda: not running.app(app_name)["gitError"], what="error cleared")
    finally:
        running.stop()
        cluster.forget_apps(f"{app_name}-b")


def test_drift_becomes_kubernetes_events_and_metrics(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = two_apps(tmp_path, namespace, app_name, autoSync=True)
    running = start_controller(repo, tmp_path)
    try:
        eventually(lambda: running.app(app_name)["sync"] == "Synced", what="synced")
        kubectl(cluster, "delete", "configmap/settings", "-n", namespace)
        eventually(lambda: colour(cluster, namespace) == "blue", what="healed")
        reasons = eventually(
            lambda: (
                {
                    e["reason"]
                    for e in cluster.list("v1", "Event", namespace)
                    if e["involvedObject"]["name"] == "settings"
                }
                >= {"DriftDetected", "DriftCorrected"}
            ),
            what="events",
        )
        assert reasons
        metrics = httpx.get(running.url + "/metrics").text
        assert f'gitward_drift_detected_total{{app="{app_name}",kind="deleted"}} 1' in metrics
        assert f'gitward_drift_corrected_total{{app="{app_name}",kind="deleted"}} 1' in metrics
        assert "gitward_reconcile_duration_seconds_bucket" in metrics
        assert httpx.get(running.url + "/readyz").status_code == 200
    finally:
        running.stop()
        cluster.forget_apps(f"{app_name}-b")


def test_standby_takes_over_a_sync_its_killed_leader_left_half_done(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace, autoSync=True, selfHeal=True)
    repo.write(
        "app/objects.yaml",
        "".join(
            f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old-{i}\n" for i in range(5)
        ),
    )
    repo.commit("old")
    lease = f"lease-{namespace}"
    a = start_controller(repo, tmp_path, leader_election=True, name="a", lease=lease, poll=1)
    eventually(lambda: a.app(app_name)["sync"] == "Synced", what="a leads and syncs")
    b = start_controller(repo, tmp_path, leader_election=True, name="b", lease=lease, poll=1)
    try:
        assert b.app(app_name)["error"].startswith("standby: "), "a standby must not answer"
        repo.write(
            "app/objects.yaml",
            "".join(
                f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: new-{i}\n"
                for i in range(400)
            ),
        )
        repo.commit("new")

        def created() -> int:
            return sum(
                1
                for c in cluster.list("v1", "ConfigMap", namespace)
                if c["metadata"]["name"].startswith("new-")
            )

        eventually(lambda: created() >= 5, timeout=30, what="leader mid-sync")
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        assert created() < 400, "the leader finished before it was killed"
        eventually(
            lambda: b.app(app_name)["sync"] == "Synced", timeout=60, what="standby took over"
        )
        names = sorted(c["metadata"]["name"] for c in cluster.list("v1", "ConfigMap", namespace))
        assert names == sorted([f"new-{i}" for i in range(400)] + ["kube-root-ca.crt"])
    finally:
        a.stop()
        b.stop()


def test_sigterm_stops_cleanly_and_hands_the_lease_over_at_once(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = two_apps(tmp_path, namespace, app_name, autoSync=True)
    lease = f"lease-term-{namespace}"
    running = start_controller(repo, tmp_path, leader_election=True, lease=lease)
    try:
        eventually(lambda: running.app(app_name)["sync"] == "Synced", what="synced")
        holder = (cluster.get("coordination.k8s.io/v1", "Lease", lease, "gitward-system") or {})[
            "spec"
        ]
        assert holder["holderIdentity"]
        running.proc.send_signal(signal.SIGTERM)
        assert running.proc.wait(timeout=30) == 0, running.log.read_text()[-2000:]
        spec = (cluster.get("coordination.k8s.io/v1", "Lease", lease, "gitward-system") or {})[
            "spec"
        ]
        assert not spec.get("holderIdentity"), "the lease was not handed over"
    finally:
        running.stop()
        cluster.forget_apps(f"{app_name}-b")
        cluster.delete("coordination.k8s.io/v1", "Lease", lease, "gitward-system")


def test_an_unreachable_api_server_never_stops_the_controller(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = unreachable_api_server(tmp_path, monkeypatch)
    running = start_controller(repo, tmp_path, poll=1)
    try:
        time.sleep(5)
        assert running.proc.poll() is None, running.log.read_text()[-2000:]
        assert httpx.get(running.url + "/healthz").status_code == 200
        app = running.app("x")
        assert app["sync"] == "OutOfSync" and "unreachable" in app["message"]
        failures = [
            line
            for line in httpx.get(running.url + "/metrics").text.splitlines()
            if line.startswith('gitward_sync_total{app="x",outcome="failed"}')
        ]
        assert failures and float(failures[0].split()[-1]) >= 2, "failed syncs are retried"
    finally:
        running.stop()
