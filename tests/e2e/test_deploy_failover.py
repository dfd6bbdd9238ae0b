"""A deploy status is sent exactly once across a leader failover, on the real forge.

Two controllers run active/standby on a short Lease, both sending statuses
as the reporter. The leader syncs a merge commit and is SIGKILLed while it
sends ``gitward/deploy/<app>`` success, at the moment that matters: before
the forge has the status (the standby must send it), or after the forge
took it but before the leader could record that (the standby must not send
it again). Either way the forge ends up with exactly one success.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gitward.dev.ports import free_port
from gitward.record import store
from gitward.review.deploys import CONTEXT_PREFIX, KIND, configmap_name
from gitward.tools import find_tool
from tests.e2e.conftest import Cluster
from tests.e2e.forgekit import Forge, ForgeRepo, merge
from tests.e2e.helpers import run_git
from tests.e2e.relay import KillingRelay, Moment
from tests.e2e.test_controller import RunningController, eventually

# A takeover within seconds; the leader renews every second, well inside it under load.
LEASE_SECONDS = "3"


def config_map(value: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "shop"},
            "data": {"v": value},
        }
    )


def start(
    forge: Forge, repo: ForgeRepo, tmp_path: Path, *, name: str, lease: str, forge_url: str
) -> RunningController:
    """A controller with leader election, its forge token in a file (as the chart mounts it)."""
    token_file = tmp_path / f"forge-token-{name}"
    token_file.write_text(forge.reporter.token + "\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / f"controller-{name}.log"
    args = [
        sys.executable, "-m", "gitward", "controller",
        "--repo", f"{forge.url}/{repo.path}.git", "--revision", "main",
        "--poll-interval", "1", "--listen", f"127.0.0.1:{port}",
        "--leader-election", "--lease-name", lease, "--lease-seconds", LEASE_SECONDS,
        "--forge", "gitea", "--forge-url", forge_url, "--forge-repo", repo.path,
        "--forge-token-file", str(token_file), "--public-url", url,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "GITWARD_FORGE_TOKEN"}
    env.update(
        GITWARD_CACHE=str(tmp_path / f"cache-{name}"),
        GITWARD_HELM=str(find_tool("helm")),
        GITWARD_GIT_TOKEN=forge.deployer.token,
        GITWARD_GIT_USERNAME=forge.deployer.user,
    )
    with log.open("w") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    running = RunningController(proc=proc, url=url, log=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return running
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"controller {name} did not come up:\n{log.read_text()}")


def deploy_statuses(forge: Forge, repo: ForgeRepo, sha: str, app: str) -> list[str]:
    """Every ``gitward/deploy/<app>`` state the forge holds for ``sha``, in the order sent."""
    with forge.api(forge.reviewer) as api:
        got = api.get(f"/repos/{repo.path}/statuses/{sha}", params={"limit": 50})
        got.raise_for_status()
    mine = [s for s in got.json() if s["context"] == CONTEXT_PREFIX + app]
    return [s["status"] for s in sorted(mine, key=lambda s: int(s["id"]))]


def ledger(cluster: Cluster, app: str, sha: str) -> dict[str, str]:
    """What the app's deploy status record in the cluster says was sent for ``sha``."""
    doc = cluster.call(lambda kube: store.read(kube, configmap_name(app), kind=KIND))
    entries = (doc or {}).get("revisions") or []
    return next((dict(e["states"]) for e in entries if e["revision"] == sha), {})


@pytest.fixture
def config_repo(
    forge: Forge, cluster: Cluster, namespace: str, app_name: str
) -> Iterator[ForgeRepo]:
    apps = {"apps": [{"name": app_name, "path": "app", "namespace": namespace, "autoSync": True}]}
    repo = forge.create_repo(
        protected=True,
        files={"gitward.yaml": yaml.safe_dump(apps), "app/shop.yaml": config_map("1")},
    )
    try:
        yield repo
    finally:
        cluster.delete("v1", "ConfigMap", configmap_name(app_name), "gitward-system")


def merged_change(forge: Forge, repo: ForgeRepo, tmp_path: Path) -> str:
    """A pull request changing the app, merged by the reviewer; its merge commit."""
    clone = forge.clone(repo, forge.promoter, tmp_path / "clone")
    (clone / "app" / "shop.yaml").write_text(config_map("2"))
    run_git(clone, "-c", "user.name=p", "-c", "user.email=p@p", "commit", "-qam", "shop v2")
    run_git(clone, "push", "-q", "origin", "HEAD:refs/heads/change")
    with forge.api(forge.promoter) as promoter:
        opened = promoter.post(
            f"/repos/{repo.path}/pulls", json={"title": "shop v2", "head": "change", "base": "main"}
        )
        assert opened.status_code == 201, opened.text
    number = opened.json()["number"]
    assert merge(forge, forge.reviewer, repo, number) == 200
    with forge.api(forge.reviewer) as reviewer:
        return str(reviewer.get(f"/repos/{repo.path}/pulls/{number}").json()["merge_commit_sha"])


@pytest.mark.parametrize("moment", list(Moment), ids=[m.value for m in Moment])
def test_a_leader_killed_while_sending_a_deploy_status_leaves_exactly_one_on_the_forge(
    forge: Forge,
    cluster: Cluster,
    config_repo: ForgeRepo,
    app_name: str,
    tmp_path: Path,
    moment: Moment,
) -> None:
    lease = f"lease-{app_name}"
    context = CONTEXT_PREFIX + app_name
    with forge.api(forge.reviewer) as reviewer:
        first = reviewer.get(f"/repos/{config_repo.path}/branches/main").json()["commit"]["id"]

    def trap(method: str, path: str, body: Any) -> bool:
        """The leader's success status for any commit but the first."""
        return (
            method == "POST"
            and "/statuses/" in path
            and not path.endswith(first)
            and isinstance(body, dict)
            and (body.get("context"), body.get("state")) == (context, "success")
        )

    with KillingRelay(forge.url) as relay:
        a = start(forge, config_repo, tmp_path, name="a", lease=lease, forge_url=relay.url)
        b: RunningController | None = None
        try:
            eventually(
                lambda: "success" in deploy_statuses(forge, config_repo, first, app_name),
                timeout=60,
                what="a leads and reports the first commit",
            )
            b = start(forge, config_repo, tmp_path, name="b", lease=lease, forge_url=relay.url)
            assert b.app(app_name)["error"].startswith("standby: "), "b must be the standby"
            relay.arm(trap, pid=a.proc.pid, moment=moment)

            sha = merged_change(forge, config_repo, tmp_path)
            assert relay.sprung.wait(timeout=60), "the leader never sent its success status"
            a.proc.wait(timeout=10)
            # Killed between its two records: the ledger says "sending", never "sent".
            assert ledger(cluster, app_name, sha) == {"pending": "sent", "success": "sending"}
            on_forge = ["pending", "success"] if moment is Moment.AFTER_THE_FORGE else ["pending"]
            assert deploy_statuses(forge, config_repo, sha, app_name) == on_forge

            eventually(
                lambda: ledger(cluster, app_name, sha).get("success") == "sent",
                timeout=60,
                what="the standby to take over and settle the success status",
            )
            assert b.app(app_name)["sync"] == "Synced"
            time.sleep(2)  # two more polls: nothing is sent late
            assert deploy_statuses(forge, config_repo, sha, app_name) == ["pending", "success"]
        finally:
            a.stop()
            if b is not None:
                b.stop()
            cluster.delete("coordination.k8s.io/v1", "Lease", lease, "gitward-system")
