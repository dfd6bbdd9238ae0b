"""The controller under commit verification and with SOPS secrets, on the real control plane.

A refused commit is never deployed: the controller keeps the last verified
revision, keeps self-healing towards it (also after a restart), and shows the
refusal in the API and /metrics until a signed commit arrives.
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import httpx
import pytest

from gitward.tools import find_tool
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import SETTINGS, ConfigRepo, one_app
from tests.e2e.test_controller import RunningController, eventually, start_controller
from tests.signing import SshKey, commit
from tests.sopsfiles import AgeKey, encrypt

SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: {}\n"


def colour(cluster: Cluster, namespace: str) -> str | None:
    found = cluster.get("v1", "ConfigMap", "settings", namespace)
    return None if found is None else str(found["data"]["colour"])


def metric(running: RunningController, name: str) -> float | None:
    for line in httpx.get(running.url + "/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def test_a_refused_commit_is_never_deployed_and_the_last_verified_one_keeps_healing(
    cluster: Cluster,
    namespace: str,
    app_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITWARD_SOPS", str(find_tool("sops")))
    alice = SshKey(tmp_path / "ssh", "alice")
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    (trusted / "allowed_signers").write_text(alice.allowed_signer("alice@example.com"))
    key = AgeKey(tmp_path / "age" / "age.txt")
    password = f"pw-{uuid.uuid4().hex}"
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace, autoSync=True, selfHeal=True)
    repo.write("app/settings.yaml", SETTINGS.format("blue"))
    repo.write("app/db.yaml", encrypt(SECRET.format(password), key=key, only="^stringData$"))
    commit(repo.path, "signed", signer=alice)
    args = (
        "--verify", "head", "--trusted-keys", str(trusted),
        "--sops-age-key-file", str(key.path),
    )  # fmt: skip
    running = start_controller(repo, tmp_path, extra_args=args)
    try:
        eventually(lambda: running.app(app_name)["sync"] == "Synced", what="first sync")
        assert colour(cluster, namespace) == "blue"
        db = cluster.get("v1", "Secret", "db", namespace)
        assert db is not None and base64.b64decode(db["data"]["password"]).decode() == password
        assert metric(running, "gitward_commit_refused") == 0

        repo.write("app/settings.yaml", SETTINGS.format("evil"))
        unsigned = commit(repo.path, "unsigned")
        refused = eventually(
            lambda: running.app(app_name)["refusedCommit"] == unsigned and running.app(app_name),
            what="the refusal in the API",
        )
        assert refused["refusal"].startswith(f"commit {unsigned[:12]}: not deployed under")
        assert metric(running, "gitward_commit_refused") == 1
        assert metric(running, "gitward_commits_refused_total") == 1
        assert colour(cluster, namespace) == "blue"
        assert password not in running.log.read_text()

        # Self-heal keeps the last verified revision in place.
        cluster.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": namespace},
                "data": {"colour": "hand-edited"},
            },
            field_manager="kubectl-edit",
            force=True,
        )
        eventually(lambda: colour(cluster, namespace) == "blue", what="self-heal")
    finally:
        running.stop()

    # A restart finds the refused head again and keeps what the history says was deployed.
    running = start_controller(repo, tmp_path, extra_args=args, name="again")
    try:
        eventually(
            lambda: running.app(app_name)["refusedCommit"] == unsigned, what="refusal after restart"
        )
        assert colour(cluster, namespace) == "blue"

        repo.write("app/settings.yaml", SETTINGS.format("green"))
        commit(repo.path, "signed again", signer=alice)
        eventually(lambda: colour(cluster, namespace) == "green", what="the signed commit")
        eventually(lambda: running.app(app_name)["refusedCommit"] == "", what="refusal cleared")
        assert metric(running, "gitward_commit_refused") == 0
    finally:
        running.stop()
