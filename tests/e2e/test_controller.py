"""The controller on the real control plane: deploys merges, detects and reverts hand edits."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitward.dev.ports import free_port
from tests.e2e import helpers
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import SETTINGS, WEB, ConfigRepo, one_app

SECRET = "s3cret-webhook"


@dataclass
class RunningController:
    proc: subprocess.Popen[str]
    url: str
    log: Path

    def get(self, path: str) -> Any:
        return httpx.get(self.url + path, timeout=5).json()

    def app(self, name: str) -> dict[str, Any]:
        out: dict[str, Any] = self.get(f"/api/v1/apps/{name}")
        return out

    def drifts(self, name: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self.get(f"/api/v1/apps/{name}/drifts")["drifts"]
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_controller(
    repo: ConfigRepo | str,
    tmp_path: Path,
    *,
    poll: float = 1.0,
    leader_election: bool = False,
    name: str = "c",
    lease: str = "gitward-controller",
    extra_args: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
) -> RunningController:
    """A controller of ``repo`` (a :class:`ConfigRepo`, or a URL), up and answering."""
    port = free_port()
    log = tmp_path / f"controller-{name}.log"
    args = [
        sys.executable,
        "-m",
        "gitward",
        "controller",
        "--repo",
        repo if isinstance(repo, str) else repo.url,
        "--revision",
        "main",
        "--poll-interval",
        str(poll),
        "--listen",
        f"127.0.0.1:{port}",
        "--lease-name",
        lease,
        "--lease-seconds",
        "3",
        "--leader-election" if leader_election else "--no-leader-election",
        *extra_args,
    ]
    env = {
        **os.environ,
        "GITWARD_WEBHOOK_SECRET": SECRET,
        "GITWARD_CACHE": str(tmp_path / f"cache-{name}"),
        **(extra_env or {}),
    }
    with log.open("w") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    running = RunningController(proc=proc, url=f"http://127.0.0.1:{port}", log=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(running.url + "/healthz", timeout=1).status_code == 200:
                return running
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"controller did not come up:\n{log.read_text()}")


def eventually(check: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, KeyError, TypeError, IndexError):
            last = None
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def show(running: RunningController, app: str) -> str:
    return json.dumps(running.drifts(app), indent=1)


def kubectl(cluster: Cluster, *args: str, env: dict[str, str] | None = None) -> str:
    return helpers.kubectl(cluster.dev.kubeconfig, *args, env=env)


@pytest.fixture
def config(tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str) -> ConfigRepo:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace, autoSync=True, selfHeal=True)
    repo.write("app/web.yaml", WEB)
    repo.write("app/settings.yaml", SETTINGS.format("blue"))
    repo.commit("initial")
    return repo


@pytest.fixture
def controller(config: ConfigRepo, tmp_path: Path, app_name: str) -> Iterator[RunningController]:
    running = start_controller(config, tmp_path)
    try:
        eventually(lambda: running.app(app_name)["sync"] == "Synced", what="first sync")
        yield running
    finally:
        running.stop()


def colour(cluster: Cluster, namespace: str) -> str | None:
    cm = cluster.get("v1", "ConfigMap", "settings", namespace)
    return None if cm is None else str(cm["data"]["colour"])


def test_a_merged_commit_is_deployed_by_polling(
    cluster: Cluster, config: ConfigRepo, controller: RunningController, namespace: str
) -> None:
    assert colour(cluster, namespace) == "blue"
    config.write("app/settings.yaml", SETTINGS.format("green"))
    config.commit("green")
    eventually(lambda: colour(cluster, namespace) == "green", timeout=15, what="poll deploy")


def test_a_signed_webhook_deploys_at_once_and_a_badly_signed_one_changes_nothing(
    cluster: Cluster, config: ConfigRepo, tmp_path: Path, namespace: str, app_name: str
) -> None:
    running = start_controller(config, tmp_path, poll=600)
    try:
        eventually(lambda: running.app(app_name)["sync"] == "Synced", what="first sync")
        config.write("app/settings.yaml", SETTINGS.format("red"))
        config.commit("red")
        body = json.dumps({"ref": "refs/heads/main", "after": "0" * 40}).encode()
        bad = httpx.post(
            running.url + "/api/v1/webhooks/github",
            content=body,
            headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + "0" * 64},
        )
        assert bad.status_code == 401
        time.sleep(3)
        assert colour(cluster, namespace) == "blue", "a rejected webhook must trigger nothing"

        signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        good = httpx.post(
            running.url + "/api/v1/webhooks/github",
            content=body,
            headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={signature}"},
        )
        assert good.status_code == 202
        eventually(lambda: colour(cluster, namespace) == "red", timeout=10, what="webhook deploy")
    finally:
        running.stop()


def drift_of(running: RunningController, app: str, obj: str, kind: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for d in running.drifts(app):
            if d["object"] == obj and d["change"] == kind and d["outcome"] == "corrected":
                return d
        return None

    found: dict[str, Any] = eventually(find, timeout=15, what=f"{kind} drift of {obj} corrected")
    return found


def test_hand_edits_are_detected_named_and_reverted(
    cluster: Cluster, controller: RunningController, namespace: str, app_name: str
) -> None:
    deployment = f"Deployment/{namespace}/web"

    kubectl(cluster, "scale", "deployment/web", "-n", namespace, "--replicas=5")
    record = drift_of(controller, app_name, deployment, "modified")
    assert record["actor"] == "kubectl" and "spec.replicas" in record["fields"]
    eventually(
        lambda: (
            (cluster.get("apps/v1", "Deployment", "web", namespace) or {})["spec"]["replicas"] == 2
        ),
        what="replicas put back",
    )

    editor = "sed -i -e 's#example.com/web:1#example.com/web:hacked#'"
    kubectl(cluster, "edit", "deployment/web", "-n", namespace, env={"KUBE_EDITOR": editor})
    record = eventually(
        lambda: next(
            (
                d
                for d in controller.drifts(app_name)
                if d["actor"] == "kubectl-edit" and d["outcome"] == "corrected"
            ),
            None,
        ),
        what="kubectl edit corrected",
    )
    assert any(f.endswith("containers[name=web].image") for f in record["fields"]), record
    eventually(
        lambda: (
            (cluster.get("apps/v1", "Deployment", "web", namespace) or {})["spec"]["template"][
                "spec"
            ]["containers"][0]["image"]
            == "example.com/web:1"
        ),
        what="image put back",
    )

    old_uid = (cluster.get("apps/v1", "Deployment", "web", namespace) or {})["metadata"]["uid"]
    kubectl(cluster, "delete", "deployment/web", "-n", namespace)
    drift_of(controller, app_name, deployment, "deleted")
    web = eventually(
        lambda: cluster.get("apps/v1", "Deployment", "web", namespace), what="web back"
    )
    assert web["metadata"]["uid"] != old_uid

    kubectl(cluster, "delete", "configmap/settings", "-n", namespace)
    drift_of(controller, app_name, f"ConfigMap/{namespace}/settings", "deleted")
    eventually(lambda: colour(cluster, namespace) == "blue", what="configmap back")

    for d in controller.drifts(app_name):
        assert d["detectedAt"] <= d["correctedAt"]


def test_unmanaged_fields_and_ignored_fields_are_left_alone(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    ignore = [{"kind": "Deployment", "name": "web", "jsonPointers": ["/spec/replicas"]}]
    one_app(repo, app_name, namespace, autoSync=True, selfHeal=True, ignore=ignore)
    repo.write("app/web.yaml", WEB)
    repo.commit("initial")
    running = start_controller(repo, tmp_path)
    try:
        eventually(lambda: running.app(app_name)["sync"] == "Synced", what="first sync")
        kubectl(cluster, "label", "deployment/web", "-n", namespace, "owner=someone")
        kubectl(cluster, "scale", "deployment/web", "-n", namespace, "--replicas=4")
        time.sleep(3)
        web = cluster.get("apps/v1", "Deployment", "web", namespace)
        assert web is not None
        assert web["metadata"]["labels"]["owner"] == "someone"
        assert web["spec"]["replicas"] == 4
        assert running.drifts(app_name) == []
    finally:
        running.stop()


def test_a_fight_with_another_writer_backs_off_instead_of_looping(
    cluster: Cluster, controller: RunningController, namespace: str, app_name: str
) -> None:
    stop = threading.Event()
    fights = 0

    def fighter() -> None:
        nonlocal fights
        while not stop.is_set():
            cluster.apply(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": "web", "namespace": namespace},
                    "spec": {"replicas": 7},
                },
                field_manager="autoscaler-x",
                force=True,
            )
            fights += 1
            stop.wait(0.3)

    thread = threading.Thread(target=fighter)
    thread.start()
    try:
        time.sleep(12)
        summary = controller.app(app_name)
    finally:
        stop.set()
        thread.join()
    corrected = [d for d in controller.drifts(app_name) if d["outcome"] == "corrected"]
    # Backoff of 0, 2, 6, 18 s allows at most 4 corrections in 12 s; a hot loop makes dozens.
    assert 2 <= len(corrected) <= 4, (len(corrected), fights)
    assert "fighting with field manager autoscaler-x" in summary["fighting"]
    assert all(d["actor"] == "autoscaler-x" for d in corrected)
