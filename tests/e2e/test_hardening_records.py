"""Corrupt records, controller roles and an unreachable API server, on the real control plane.

A record that does not decode fails its own app with one line naming the
ConfigMap; every other app, the controller's loops and its probes carry on,
and the app recovers once the record is restored or deleted.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Cluster
from tests.e2e.helpers import SETTINGS, WEB, ConfigRepo, gitward, one_app, unreachable_api_server
from tests.e2e.test_controller import colour, eventually, kubectl, start_controller

RECORDS = "gitward-system"


def record_name(app: str) -> str:
    return f"gitward-app-{app}"


def put_record(cluster: Cluster, app: str, binary_data: dict[str, str]) -> None:
    """Overwrite the record by hand, as an operator's mistake or a bad restore would."""
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": record_name(app), "namespace": RECORDS},
            "binaryData": binary_data,
        },
        field_manager="hand",
        force=True,
    )


def not_gzip() -> dict[str, str]:
    return {"doc.json.gz": base64.b64encode(b"garbage, certainly not gzip").decode()}


def wrong_shape(doc: Any) -> dict[str, str]:
    raw = gzip.compress(json.dumps(doc).encode())
    return {"doc.json.gz": base64.b64encode(raw).decode()}


def one_line_error(proc: Any, configmap: str) -> str:
    """The process failed with exit 2 and exactly one line, naming ``configmap``."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: ConfigMap/{RECORDS}/{configmap}: not a valid gitward "), (
        lines[0]
    )
    return str(lines[0])


def two_auto_apps(tmp_path: Path, namespace: str, app_name: str) -> ConfigRepo:
    """App ``app_name`` (a ConfigMap) and ``<app_name>-b`` (a Deployment), both self-healing."""
    repo = ConfigRepo(tmp_path / "config")
    common = {"namespace": namespace, "autoSync": True, "selfHeal": True}
    repo.write(
        "gitward.yaml",
        {
            "apps": [
                {"name": app_name, "path": "a", **common},
                {"name": f"{app_name}-b", "path": "b", **common},
            ]
        },
    )
    repo.write("a/settings.yaml", SETTINGS.format("blue"))
    repo.write("b/web.yaml", WEB)
    repo.commit("two apps")
    return repo


def replicas(cluster: Cluster, namespace: str) -> int:
    deployment = cluster.get("apps/v1", "Deployment", "web", namespace)
    assert deployment is not None
    return int(deployment["spec"]["replicas"])


def test_a_corrupt_inventory_fails_its_app_alone_and_the_app_recovers_once_restored(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    other = f"{app_name}-b"
    repo = two_auto_apps(tmp_path, namespace, app_name)
    running = start_controller(repo, tmp_path, poll=1)
    try:
        eventually(
            lambda: all(running.app(a)["sync"] == "Synced" for a in (app_name, other)),
            what="both apps synced",
        )
        put_record(cluster, app_name, not_gzip())
        repo.write("a/settings.yaml", SETTINGS.format("green"))
        repo.commit("green")

        record = record_name(app_name)
        app = eventually(
            lambda: (
                running.app(app_name)["message"].startswith(f"ConfigMap/{RECORDS}/{record}")
                and running.app(app_name)
            ),
            what="the app shows its corrupt record",
        )
        assert app["sync"] == "Unknown" and app["lastSyncResult"] == "failed"
        assert "not gzip" in app["message"] and "delete configmap" in app["message"]
        assert colour(cluster, namespace) == "blue", "nothing of that sync may be applied"

        # The controller and the other app carry on: probes pass, drift is still reverted.
        assert httpx.get(running.url + "/healthz").status_code == 200
        assert httpx.get(running.url + "/readyz").status_code == 200
        assert running.app(other)["sync"] == "Synced"
        kubectl(cluster, "scale", "deployment/web", "-n", namespace, "--replicas=5")
        eventually(lambda: replicas(cluster, namespace) == 2, what="other app healed")

        # As the message says: delete it, and the next sync rebuilds it from the
        # tracking annotations (a record restored by hand is another writer's).
        cluster.delete("v1", "ConfigMap", record, RECORDS)
        eventually(lambda: colour(cluster, namespace) == "green", what="recovered and synced")
        app = eventually(
            lambda: running.app(app_name)["sync"] == "Synced" and running.app(app_name),
            what="app status recovered",
        )
        assert app["message"] == "" and app["lastSyncResult"] == "succeeded"

        # A corrupt history is a 500 naming the ConfigMap, not a bare "internal error".
        put_record(cluster, app_name, wrong_shape({"app": app_name, "history": [{"app": 1}]}))
        answer = httpx.get(f"{running.url}/api/v1/apps/{app_name}/history", timeout=5)
        assert answer.status_code == 500
        assert answer.json()["error"].startswith(f"ConfigMap/{RECORDS}/{record}: not a valid")
        cluster.delete("v1", "ConfigMap", record, RECORDS)
        answer = httpx.get(f"{running.url}/api/v1/apps/{app_name}/history", timeout=5)
        assert (answer.status_code, answer.json()) == (200, {"history": []})

        assert running.proc.poll() is None
        assert "Traceback" not in running.log.read_text()
    finally:
        running.stop()
        cluster.forget_apps(other)


@pytest.fixture
def synced(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> ConfigRepo:
    """An app synced once by the CLI (a ConfigMap and a Deployment)."""
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    repo.write("app/settings.yaml", SETTINGS.format("blue"))
    repo.write("app/web.yaml", WEB)
    repo.commit("initial")
    first = gitward("sync", app_name, "--repo", str(repo.path))
    assert first.returncode == 0, first.stderr
    return repo


def test_a_corrupt_history_makes_history_and_status_exit_2_with_one_line(
    cluster: Cluster, synced: ConfigRepo, app_name: str
) -> None:
    record = record_name(app_name)
    put_record(cluster, app_name, wrong_shape({"app": app_name, "history": [{"app": app_name}]}))
    line = one_line_error(gitward("history", app_name), record)
    assert "'revision' is a required property" in line
    one_line_error(gitward("status", app_name, "--repo", str(synced.path)), record)

    cluster.delete("v1", "ConfigMap", record, RECORDS)
    again = gitward("history", app_name)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"{app_name}: no sync recorded"


def resource_versions(cluster: Cluster, namespace: str, app: str) -> dict[str, str]:
    objects = {
        "settings": cluster.get("v1", "ConfigMap", "settings", namespace),
        "web": cluster.get("apps/v1", "Deployment", "web", namespace),
        "record": cluster.get("v1", "ConfigMap", record_name(app), RECORDS),
    }
    return {
        name: (body or {}).get("metadata", {}).get("resourceVersion", "absent")
        for name, body in objects.items()
    }


@pytest.mark.parametrize(
    "garbage",
    [
        not_gzip,
        lambda: wrong_shape(
            {"app": "x", "history": [], "inventory": {"app": "x", "entries": [{"kind": "Pod"}]}}
        ),
        lambda: wrong_shape({"app": "x", "history": [1, 2, 3]}),
        lambda: wrong_shape([1, 2, 3]),
    ],
    ids=["not-gzip", "inventory-wrong-shape", "history-wrong-shape", "not-a-record"],
)
def test_sync_with_a_corrupt_record_exits_2_and_changes_nothing(
    cluster: Cluster,
    synced: ConfigRepo,
    namespace: str,
    app_name: str,
    garbage: Callable[[], dict[str, str]],
) -> None:
    synced.write("app/settings.yaml", SETTINGS.format("green"))
    synced.write("app/extra.yaml", SETTINGS.format("new").replace("settings", "extra"))
    synced.commit("green, and one object more")
    put_record(cluster, app_name, garbage())
    before = resource_versions(cluster, namespace, app_name)

    line = one_line_error(
        gitward("sync", app_name, "--repo", str(synced.path)), record_name(app_name)
    )
    assert "delete configmap" in line

    assert resource_versions(cluster, namespace, app_name) == before
    assert colour(cluster, namespace) == "blue"
    assert cluster.get("v1", "ConfigMap", "extra", namespace) is None


def test_history_with_the_api_server_unreachable_is_503_with_the_reason(
    tmp_path: Path, git_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = unreachable_api_server(tmp_path, monkeypatch)
    running = start_controller(repo, tmp_path, poll=1)
    try:
        eventually(lambda: "x" in [a["name"] for a in running.get("/api/v1/apps")["apps"]])
        answer = httpx.get(running.url + "/api/v1/apps/x/history", timeout=10)
        assert answer.status_code == 503
        error = answer.json()["error"]
        assert error.startswith("app x: history unavailable: ") and "unreachable" in error
    finally:
        running.stop()


def test_a_standby_answers_503_naming_the_leader_and_both_replicas_are_ready(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    repo.write("app/settings.yaml", SETTINGS.format("blue"))
    repo.commit("initial")
    lease = f"lease-{namespace}"
    leader = start_controller(repo, tmp_path, leader_election=True, name="a", lease=lease)
    standby = None
    try:
        eventually(lambda: running_apps(leader) == [app_name], what="a leads")
        standby = start_controller(repo, tmp_path, leader_election=True, name="b", lease=lease)
        spec = (cluster.get("coordination.k8s.io/v1", "Lease", lease, RECORDS) or {})["spec"]
        holder = spec["holderIdentity"]

        expected = {"error": f"standby: the leader is {holder}; ask it"}
        eventually(lambda: standby_answer(standby, "/api/v1/apps"), what="standby saw the lease")
        for path in (
            "/api/v1/apps",
            f"/api/v1/apps/{app_name}",
            f"/api/v1/apps/{app_name}/history",
        ):
            assert standby_answer(standby, path) == (503, expected), path
        for running in (leader, standby):
            assert httpx.get(running.url + "/readyz").text == "ok"
            assert httpx.get(running.url + "/healthz").text == "ok"
        assert running_apps(leader) == [app_name]
    finally:
        leader.stop()
        if standby is not None:
            standby.stop()
        cluster.delete("coordination.k8s.io/v1", "Lease", lease, RECORDS)


def running_apps(running: Any) -> list[str]:
    return [a["name"] for a in running.get("/api/v1/apps")["apps"]]


def standby_answer(running: Any, path: str) -> tuple[int, Any] | None:
    """The standby's answer once it has seen the lease (before that it knows no leader)."""
    answer = httpx.get(running.url + path, timeout=5)
    if "no leader elected yet" in answer.text:
        return None
    return answer.status_code, answer.json()
