"""One public JSON shape: the CLI and the controller's API show the same app alike."""

from __future__ import annotations

import json
from pathlib import Path

from gitward.views import API_VERSION
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import SETTINGS, gitward, repo_with
from tests.e2e.test_controller import eventually, start_controller

CORE = (
    "apiVersion",
    "kind",
    "name",
    "sync",
    "health",
    "revision",
    "lastSyncedRevision",
    "lastSyncedAt",
    "lastSyncResult",
    "message",
    "charts",
)


def test_status_and_history_read_the_same_from_the_cli_and_the_api(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = repo_with(
        tmp_path, app_name, namespace, {"settings.yaml": SETTINGS.format("blue")}, autoSync=True
    )
    running = start_controller(repo, tmp_path)
    try:
        api = eventually(
            lambda: (
                (a := running.app(app_name))["sync"] == "Synced" and a["health"] == "Healthy" and a
            ),
            what="app synced and healthy",
        )
        args = ("--repo", repo.url, "--revision", "main", "-o", "json")
        status = gitward("status", app_name, *args)
        assert status.returncode == 0, status.stderr
        cli = json.loads(status.stdout)
        api_history = running.get(f"/api/v1/apps/{app_name}/history")["history"]
    finally:
        running.stop()
    history = gitward("history", app_name, "-o", "json")
    assert history.returncode == 0, history.stderr

    assert (cli["apiVersion"], cli["kind"]) == (API_VERSION, "App")
    assert {k: cli[k] for k in CORE} == {k: api[k] for k in CORE}
    assert cli["lastSyncedAt"] and cli["lastSyncResult"] == "succeeded"
    assert [o["object"] for o in cli["objects"]] == [o["object"] for o in api["objects"]]
    assert json.loads(history.stdout) == api_history
    assert api_history[0]["kind"] == "SyncRecord" and api_history[0]["exitCode"] == 0
