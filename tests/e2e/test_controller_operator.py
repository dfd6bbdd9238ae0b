"""The controller as an operator sees it: its log, its metrics, and its records of drift."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e import helpers
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import SETTINGS, WEB, ConfigRepo, repo_with
from tests.e2e.test_controller import RunningController, eventually, start_controller


def repo_for(tmp_path: Path, app: str, namespace: str, *, self_heal: bool) -> ConfigRepo:
    files = {"web.yaml": WEB, "settings.yaml": SETTINGS.format("blue")}
    return repo_with(tmp_path, app, namespace, files, autoSync=True, selfHeal=self_heal)


@pytest.fixture
def json_controller(
    tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> Iterator[RunningController]:
    repo = repo_for(tmp_path, app_name, namespace, self_heal=True)
    running = start_controller(repo, tmp_path, extra_args=("--log-format", "json"))
    try:
        eventually(lambda: running.app(app_name)["sync"] == "Synced", what="first sync")
        yield running
    finally:
        running.stop()


def log_events(running: RunningController) -> list[dict[str, Any]]:
    out = []
    for line in running.log.read_text().splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and "event" in doc:
            out.append(doc)
    return out


def scale(cluster: Cluster, namespace: str, replicas: int) -> None:
    helpers.kubectl(
        cluster.dev.kubeconfig, "scale", "deployment/web", "-n", namespace, f"--replicas={replicas}"
    )


def replicas(cluster: Cluster, namespace: str) -> int:
    return int((cluster.get("apps/v1", "Deployment", "web", namespace) or {})["spec"]["replicas"])


def test_the_log_has_one_json_line_per_sync_drift_and_correction(
    cluster: Cluster, json_controller: RunningController, namespace: str, app_name: str
) -> None:
    scale(cluster, namespace, 5)
    eventually(lambda: replicas(cluster, namespace) == 2, what="scale put back")

    def event(name: str) -> dict[str, Any] | None:
        return next((e for e in log_events(json_controller) if e["event"] == name), None)

    synced = eventually(lambda: event("synced"), what="sync line")
    assert synced["app"] == app_name and synced["duration"].endswith("s")
    assert "created" in synced["changes"]
    drift = eventually(lambda: event("drift"), what="drift line")
    assert drift["app"] == app_name and drift["actor"] == "kubectl"
    assert drift["object"] == f"Deployment/{namespace}/web"
    assert drift["fields"] == "spec.replicas"
    corrected = eventually(lambda: event("corrected"), what="correction line")
    assert corrected["object"] == drift["object"] and corrected["actor"] == "kubectl"
    assert float(corrected["duration"].rstrip("s")) >= 0
    assert {"time", "level", "logger", "message"} <= set(corrected)


def test_per_app_gauges_give_sync_health_and_last_success(
    json_controller: RunningController, app_name: str
) -> None:
    def samples() -> dict[str, float]:
        text = httpx.get(json_controller.url + "/metrics", timeout=5).text
        return {
            line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("gitward_app_") and f'app="{app_name}"' in line
        }

    healthy = f'gitward_app_health_status{{app="{app_name}",status="Healthy"}}'
    eventually(lambda: samples().get(healthy) == 1.0, timeout=30, what="healthy gauge")
    got = samples()
    assert got[f'gitward_app_sync_status{{app="{app_name}",status="Synced"}}'] == 1.0
    assert got[f'gitward_app_sync_status{{app="{app_name}",status="OutOfSync"}}'] == 0.0
    assert got[f'gitward_app_health_status{{app="{app_name}",status="Degraded"}}'] == 0.0
    last = got[f'gitward_app_last_successful_sync_timestamp_seconds{{app="{app_name}"}}']
    assert time.time() - 600 < last <= time.time()


def test_with_self_heal_off_one_hand_edit_is_one_record_and_one_event(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = repo_for(tmp_path, app_name, namespace, self_heal=False)
    running = start_controller(repo, tmp_path)
    try:
        eventually(lambda: running.app(app_name)["sync"] == "Synced", what="first sync")
        scale(cluster, namespace, 3)  # the controller-manager then updates status many times
        eventually(lambda: running.drifts(app_name), what="drift reported")
        time.sleep(3)
        drifts = running.drifts(app_name)
        assert len(drifts) == 1, drifts
        assert drifts[0]["outcome"] == "reported" and drifts[0]["actor"] == "kubectl"
        assert replicas(cluster, namespace) == 3, "selfHeal off must change nothing"
        events = [
            e
            for e in cluster.list("v1", "Event", namespace)
            if e.get("reason") == "DriftDetected"
            and e["involvedObject"]["name"] == "web"
            and e["involvedObject"]["kind"] == "Deployment"
        ]
        assert len(events) == 1 and events[0].get("count", 1) == 1, events

        scale(cluster, namespace, 4)  # the same field again: still the one drift
        time.sleep(2)
        assert len(running.drifts(app_name)) == 1
        helpers.kubectl(  # another field: a second record
            cluster.dev.kubeconfig,
            "set",
            "image",
            "-n",
            namespace,
            "deployment/web",
            "web=example.com/web:9",
        )
        second = eventually(
            lambda: len(running.drifts(app_name)) == 2 and running.drifts(app_name)[0],
            what="second drift",
        )
        assert "spec.template.spec.containers[name=web].image" in second["fields"]
    finally:
        running.stop()


def test_fighting_is_shown_while_a_writer_returns_and_clears_once_it_stops(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = repo_for(tmp_path, app_name, namespace, self_heal=True)
    running = start_controller(repo, tmp_path)
    try:
        eventually(lambda: running.app(app_name)["sync"] == "Synced", what="first sync")
        scale(cluster, namespace, 5)
        eventually(lambda: replicas(cluster, namespace) == 2, what="first correction")
        scale(cluster, namespace, 6)  # back at once: a fight, the next correction waits
        fighting = eventually(lambda: running.app(app_name)["fighting"], what="fighting shown")
        assert "fighting with field manager kubectl" in fighting
        eventually(lambda: replicas(cluster, namespace) == 2, timeout=10, what="second correction")
        eventually(
            lambda: running.app(app_name)["fighting"] == "", timeout=10, what="fighting cleared"
        )
    finally:
        running.stop()


def kustomize_repo(tmp_path: Path, app: str, namespace: str) -> ConfigRepo:
    repo = ConfigRepo(tmp_path / "config")
    repo.write(
        "gitward.yaml",
        {
            "apps": [
                {
                    "name": app,
                    "path": "overlays/prod",
                    "namespace": namespace,
                    "autoSync": True,
                    "selfHeal": True,
                }
            ]
        },
    )
    repo.write("overlays/prod/kustomization.yaml", "resources: [../../base]\n")
    repo.write("base/kustomization.yaml", "resources: [settings.yaml]\n")
    repo.write("base/settings.yaml", SETTINGS.format("blue"))
    repo.commit("a kustomize overlay of a base outside its directory")
    return repo


def colour(cluster: Cluster, namespace: str) -> str | None:
    cm = cluster.get("v1", "ConfigMap", "settings", namespace)
    return None if cm is None else str(cm["data"]["colour"])


def test_a_change_to_a_kustomize_base_outside_the_app_path_redeploys_the_app(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = kustomize_repo(tmp_path, app_name, namespace)
    running = start_controller(repo, tmp_path, poll=0.5)
    try:
        eventually(lambda: colour(cluster, namespace) == "blue", what="first sync")
        repo.write("base/settings.yaml", SETTINGS.format("green"))
        sha = repo.commit("the base changes")
        eventually(lambda: colour(cluster, namespace) == "green", what="base change deployed")
        assert running.app(app_name)["revision"] == sha

        # A renamed base counts too: the old path is what the last render read.
        (repo.path / "base").rename(repo.path / "shared")
        repo.write("overlays/prod/kustomization.yaml", "resources: [../../shared]\n")
        repo.write("shared/settings.yaml", SETTINGS.format("red"))
        repo.commit("the base moves")
        eventually(lambda: colour(cluster, namespace) == "red", what="moved base deployed")
    finally:
        running.stop()


def test_a_full_reconcile_picks_up_what_no_trigger_announced(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = repo_for(tmp_path, app_name, namespace, self_heal=True)
    running = start_controller(
        repo, tmp_path, poll=600, extra_args=("--full-reconcile-interval", "2")
    )
    try:
        eventually(lambda: colour(cluster, namespace) == "blue", what="first sync")
        repo.write("app/settings.yaml", SETTINGS.format("green"))
        repo.commit("no webhook, and the next poll is ten minutes away")
        eventually(lambda: colour(cluster, namespace) == "green", timeout=15, what="full reconcile")
        eventually(lambda: "full-reconcile" in running.log.read_text(), what="logged")
    finally:
        running.stop()
