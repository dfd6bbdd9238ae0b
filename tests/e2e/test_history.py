"""Sync history in the cluster, and commands that take repo and revision from the environment."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Cluster
from tests.e2e.helpers import ConfigRepo, gitward, one_app


def test_history_keeps_the_last_ten_syncs_newest_first_with_commit_details(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    env = {"GITWARD_REPO": repo.url, "GITWARD_REVISION": "main"}
    shas = []
    for i in range(12):
        repo.write(
            "app/cm.yaml",
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  i: '{i}'\n",
        )
        shas.append(repo.commit(f"change {i}"))
        result = gitward("sync", app_name, env=env)
        assert result.returncode == 0, result.stderr

    history = json.loads(gitward("history", app_name, "-o", "json").stdout)
    assert len(history) == 10
    assert [h["revision"] for h in history] == shas[::-1][:10]
    assert history[0]["subject"] == "change 11"
    assert history[0]["ref"] == "main"
    assert history[0]["author"] == "Ada Lovelace <ada@example.com>"
    assert history[0]["actions"] == [
        {"object": f"ConfigMap/{namespace}/c", "outcome": "configured", "message": ""}
    ]
    assert history[-1]["counts"] == {"configured": 1}
    assert history[0]["result"] == "succeeded" and history[0]["durationSeconds"] > 0

    status = gitward("status", app_name, "-o", "json", env=env)
    assert status.returncode == 0, status.stdout
    view = json.loads(status.stdout)
    assert view["revision"] == shas[-1] == view["lastSyncedRevision"]
    assert (view["sync"], view["health"]) == ("Synced", "Healthy")
