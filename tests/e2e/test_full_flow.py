"""The whole flow, on the real forge (Gitea), its registry and chart repository, and the
control plane: a code commit reaches staging as a reviewed pull request, and one
command rolls it back.

1. a commit to the example code repo, pushed to Gitea;
2. ``gitward ci --promote staging``, with the build identity and the promoter's token
   and no kubeconfig at all;
3. the promotion pull request gets the controller's preview comment and
   ``gitward/preview`` success (Gitea's webhooks reach the controller);
4. the reviewer merges it through the API;
5. the push webhook reaches the controller, which deploys;
6. ``gitward/deploy/<app>`` success lands on the merge commit;
7. ``gitward rollback`` opens a pull request; merged, the previous version runs again,
   and ``gitward history`` names the pull request and the commit it returned to.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.dev.forge_api import RepoKind
from gitward.render.helm.charts import read_chart
from gitward.render.helm.locking import update_lock
from tests.e2e.cihelpers import EXAMPLE_CODE, ci_env, commit, gitward_ci, remove_images
from tests.e2e.conftest import Cluster
from tests.e2e.forgekit import (
    Forge,
    ForgeRepo,
    comments,
    final_status,
    history,
    merge,
    merge_commit,
    pulls,
    send_webhooks,
    start_controller,
)
from tests.e2e.helpers import gitward, run_git
from tests.e2e.test_controller import RunningController, eventually

pytestmark = pytest.mark.e2e

APP = "hello-staging"
KEY = f"staging.{APP}"


def example_files() -> dict[str, str]:
    return {
        str(p.relative_to(EXAMPLE_CODE)): p.read_text()
        for p in sorted(EXAMPLE_CODE.rglob("*"))
        if p.is_file()
    }


def config_files(
    tmp: Path, forge: Forge, namespace: str, version: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """gitward.yaml with hello in staging: an umbrella chart on ``version``, locked."""
    app = {
        "name": APP, "environment": "staging", "path": "apps/staging/hello",
        "namespace": namespace, "releaseName": "hello", "autoSync": True,
    }  # fmt: skip
    work = tmp / "apps" / "staging" / "hello"
    work.mkdir(parents=True)
    chart = {
        "apiVersion": "v2",
        "name": "hello-app",
        "version": "1.0.0",
        "dependencies": [{"name": "hello", "version": version, "repository": forge.chart_repo}],
    }
    (work / "Chart.yaml").write_text(yaml.safe_dump(chart, sort_keys=False))
    # The lock as helm writes it, reading the chart repository as the deploy identity.
    with monkeypatch.context() as m:
        m.setenv("GITWARD_DEPLOY_USER", forge.deployer.user)
        m.setenv("GITWARD_DEPLOY_TOKEN", forge.deployer.token)
        update_lock(read_chart(app_dir=work, label="hello", root=tmp), root=tmp)
    return {
        "gitward.yaml": yaml.safe_dump({"apps": [app]}, sort_keys=False),
        "apps/staging/hello/Chart.yaml": (work / "Chart.yaml").read_text(),
        "apps/staging/hello/Chart.lock": (work / "Chart.lock").read_text(),
        "apps/staging/hello/hello.yaml": f'image:\n  tag: "{version}"  # from CI\n',
    }


StartController = Callable[[ForgeRepo], RunningController]


@pytest.fixture
def controller_for(forge: Forge, tmp_path: Path) -> Iterator[StartController]:
    """Starts the controller on a config repo, with Gitea's webhooks; stops it afterwards."""
    started: list[RunningController] = []

    def start(repo: ForgeRepo) -> RunningController:
        running = start_controller(
            forge,
            repo,
            tmp_path,
            # The deploy side reads the chart repository with the read-only identity.
            env={
                "GITWARD_DEPLOY_USER": forge.deployer.user,
                "GITWARD_DEPLOY_TOKEN": forge.deployer.token,
            },
        )
        started.append(running)
        send_webhooks(forge, repo, running)
        return running

    yield start
    for running in started:
        running.stop()


def deployed_image(cluster: Cluster, namespace: str) -> str:
    (deployment,) = cluster.list("apps/v1", "Deployment", namespace)
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


def synced(key: str) -> dict[str, Any] | None:
    """The newest sync in ``gitward history KEY`` if it succeeded (none yet is ``None``)."""
    shown = gitward("history", key, "-o", "json")
    records = json.loads(shown.stdout) if shown.returncode == 0 else []
    return records[0] if records and records[0]["result"] == "succeeded" else None


def test_a_code_commit_reaches_staging_as_a_reviewed_pull_request_and_rolls_back(
    forge: Forge,
    cluster: Cluster,
    namespace: str,
    tmp_path: Path,
    controller_for: StartController,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = ci_env(forge, cluster, forge.builder, tmp_path)
    cluster.forget_apps(KEY)  # an earlier run's records would read as this one's
    try:
        _flow(forge, cluster, namespace, tmp_path, controller_for, monkeypatch, env)
    finally:
        cluster.forget_apps(KEY)
        remove_images(f"{forge.registry}/")


def _flow(
    forge: Forge,
    cluster: Cluster,
    namespace: str,
    tmp_path: Path,
    controller_for: StartController,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
) -> None:
    # The example code repo on Gitea, its first release published by the build side.
    code = forge.create_repo(f"hello-{uuid.uuid4().hex[:6]}", kind=RepoKind.CODE,
                             files=example_files())  # fmt: skip
    # The person's checkout (as a CI agent's would be): the build identity may only push
    # packages, not read or write code.
    work = forge.clone(code, forge.reviewer, tmp_path / "hello")
    # A version of its own: the forge keeps what earlier runs published.
    run_git(work, "tag", f"v1.{random.randrange(10**6)}.0")
    first = gitward_ci(work, "-o", "json", env=env, drop=("KUBECONFIG",))
    assert first.code == 0, first.stderr
    before = first.record

    # The config repo: hello in staging on that release; the controller deploys it.
    config = forge.create_repo(
        protected=True,
        files=config_files(tmp_path / "config", forge, namespace, before["version"], monkeypatch),
    )
    config_url = f"{forge.url}/{config.path}.git"
    with forge.api(forge.reviewer) as api:
        head = api.get(f"/repos/{config.path}/branches/main").json()["commit"]["id"]
    controller_for(config)
    eventually(
        lambda: (s := synced(KEY)) and s["revision"] == head, timeout=90, what=f"{APP}'s first sync"
    )
    assert deployed_image(cluster, namespace) == before["image"]

    # 1. A commit to the code repo, pushed to Gitea.
    app_py = work / "app.py"
    app_py.write_text(app_py.read_text().replace('"hello")', '"hello again")'))
    sha = commit(work, "Say hello again")
    run_git(work, "push", "-q", "origin", "HEAD:main")

    # 2. gitward ci --promote staging: the build identity and the promoter's token, no
    # kubeconfig; the forge is told from the config repo's URL.
    build_env = {
        **env,
        "GITWARD_CONFIG_REPO": config_url,
        "GITWARD_FORGE": "",
        "GITWARD_FORGE_URL": "",
        "GITWARD_DEPLOY_USER": "",
        "GITWARD_DEPLOY_TOKEN": "",
    }
    # Without the promoter's token the build side publishes, and opens no pull request.
    record_file = tmp_path / "record.json"
    refused = gitward_ci(
        work, "--promote", "staging", "--record", str(record_file), env=build_env,
        drop=("KUBECONFIG", "GITWARD_FORGE_TOKEN_PROMOTER"),
    )  # fmt: skip
    assert refused.code == 2, refused.stderr
    assert refused.errors == [
        "error: --promote staging: no promoter token (set GITWARD_FORGE_TOKEN_PROMOTER); "
        f"hello {json.loads(record_file.read_text())['version']} is published, "
        "no promotion pull request was opened"
    ]
    assert pulls(forge, config) == []
    # A forge that is down: exit 3 naming it, the token nowhere in the output.
    down = gitward_ci(
        work, "--promote", "staging",
        env={**build_env, "GITWARD_FORGE_TOKEN_PROMOTER": forge.promoter.token,
             "GITWARD_CONFIG_REPO": f"http://127.0.0.1:1/{config.path}.git"},
        drop=("KUBECONFIG",),
    )  # fmt: skip
    assert down.code == 3, down.stderr
    (error,) = down.errors
    assert error.startswith("error: gitea http://127.0.0.1:1/api/v1 ") and "unreachable" in error
    assert error.endswith("is published, no promotion pull request was opened")
    assert forge.promoter.token not in down.stdout + down.stderr
    promoted = gitward_ci(
        work, "--promote", "staging", "-o", "json", "--record", str(record_file),
        env={**build_env, "GITWARD_FORGE_TOKEN_PROMOTER": forge.promoter.token},
        drop=("KUBECONFIG",),
    )  # fmt: skip
    assert promoted.code == 0, promoted.stderr
    # The publish was done: the second run only promotes.
    assert not any(s["changed"] for s in promoted.record["steps"] if s["name"] == "push-image")
    secrets = (forge.promoter.token, forge.builder.token)
    assert not any(s in promoted.stdout + promoted.stderr for s in secrets)
    after = promoted.record
    assert after["commit"] == sha and after["version"] != before["version"]
    assert json.loads(record_file.read_text())["promotions"] == after["promotions"]
    (promotion,) = after["promotions"]
    assert (promotion["outcome"], promotion["environments"]) == ("opened", ["staging"])
    number, url = promotion["pullRequest"]["number"], promotion["pullRequest"]["url"]
    (line,) = [x for x in promoted.stderr.splitlines() if x.startswith("[ci] promote")]
    assert f"opened #{number}" in line and url in line

    (pull,) = pulls(forge, config)
    assert pull["number"] == number and pull["user"]["login"] == forge.promoter.user
    assert pull["title"] == f"Promote hello to {after['version']} in staging"
    assert f"{before['commit']}...{sha}" in pull["body"]  # the code commits between
    assert "the controller's preview comment" in pull["body"]  # no dry-run on the build side

    # 3. The controller previews it.
    head = pull["head"]["sha"]
    preview = final_status(forge, config, head, "gitward/preview")
    assert preview["status"] == "success", preview
    (comment,) = [c for c in comments(forge, config, number) if "gitward:preview" in c["body"]]
    assert APP in comment["body"] and head[:12] in comment["body"]

    # 4.-6. The reviewer merges it; the controller deploys it and says so on the merge commit.
    assert merge(forge, forge.reviewer, config, number) == 200
    merged = merge_commit(forge, config, number)
    deployed = final_status(forge, config, merged, f"gitward/deploy/{APP}")
    assert deployed["status"] == "success", deployed
    assert deployed_image(cluster, namespace) == after["image"]
    eventually(
        lambda: (s := synced(KEY)) and s["revision"] == merged, timeout=30, what="its history"
    )
    back_to = history(KEY)[1]["revision"]

    # 7. gitward rollback opens a pull request; merged, the previous version runs again.
    clone = forge.clone(config, forge.promoter, tmp_path / "config-clone")
    run_git(clone, "remote", "set-url", "origin", config_url)
    rolled = gitward(
        "rollback", APP, "--repo", str(clone), "-o", "json",
        env={"GITWARD_FORGE_URL": forge.url, "GITWARD_FORGE_TOKEN_PROMOTER": forge.promoter.token},
    )  # fmt: skip
    assert rolled.returncode == 0, rolled.stderr
    rollback = json.loads(rolled.stdout)
    assert (rollback["outcome"], rollback["to"]) == ("opened", back_to)
    undo = rollback["pullRequest"]["number"]
    assert merge(forge, forge.reviewer, config, undo) == 200
    undone = merge_commit(forge, config, undo)
    restored = final_status(forge, config, undone, f"gitward/deploy/{APP}")
    assert restored["status"] == "success", restored
    assert deployed_image(cluster, namespace) == before["image"]
    last = eventually(
        lambda: (s := synced(KEY)) and s["revision"] == undone and s, timeout=30, what="history"
    )
    assert last["charts"] == [f"hello@{before['version']} (commit {before['commit'][:12]})"]
    assert f"#{undo}" in last["subject"]
    assert f"Roll back {APP} to {back_to[:12]}" in last["subject"]
