"""Releases and rollbacks as pull requests, on the real Gitea and control plane."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import Cluster
from tests.e2e.forgekit import (
    SECRET,
    Forge,
    ForgeRepo,
    all_statuses,
    comments,
    file_on,
    history,
    merge,
    pulls,
    send_webhooks,
    start_controller,
    statuses,
)
from tests.e2e.helpers import EXAMPLE_CHARTS, gitward, helm, run_git
from tests.e2e.test_controller import RunningController, eventually

CODE_SOURCE = "http://127.0.0.1:1/gitward/code.git"


def revision_of(version: str) -> str:
    return version.replace(".", "").ljust(40, "c")


@pytest.fixture(scope="module")
def annotated_charts(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> str:
    """web 0.1.0 and 0.2.0 in the dev registry, each naming the code commit it was built from."""
    out = tmp_path_factory.mktemp("annotated")
    repo = f"oci://{cluster.dev.registry}/promote-{uuid.uuid4().hex[:6]}"
    for version in ("0.1.0", "0.2.0"):
        work = out / f"web-{version}"
        shutil.copytree(EXAMPLE_CHARTS / "web", work)
        chart = yaml.safe_load((work / "Chart.yaml").read_text())
        chart.update(version=version, appVersion=version)
        chart["annotations"] = {
            "gitward.io/commit": revision_of(version),
            "gitward.io/source": CODE_SOURCE,
        }
        (work / "Chart.yaml").write_text(yaml.safe_dump(chart))
        helm("package", str(work), "-d", str(out))
        helm("push", str(out / f"web-{version}.tgz"), repo, "--plain-http")
    return repo


@dataclass
class Setup:
    repo: ForgeRepo
    clone: Path
    env: dict[str, str]
    namespaces: dict[str, str]

    def promote(self, *args: str) -> Any:
        return gitward("promote", *args, "--repo", str(self.clone), env=self.env)

    def rollback(self, *args: str) -> Any:
        return gitward("rollback", *args, "--repo", str(self.clone), env=self.env)

    def sync(self, app: str, token: str) -> Any:
        url = f"{self.env['GITWARD_FORGE_URL']}/{self.repo.path}.git"
        return gitward(
            "sync", app, "--repo", url, "--revision", "main",
            env={"GITWARD_GIT_TOKEN": token, "GITWARD_GIT_USERNAME": "deployer"},
        )  # fmt: skip


def app_files(tmp: Path, chart_repo: str, namespaces: dict[str, str]) -> dict[str, str]:
    """gitward.yaml with shop in staging and prod, each an umbrella chart on web 0.1.0, locked."""
    apps = [
        {"name": f"shop-{env}", "environment": env, "path": f"apps/{env}/shop",
         "namespace": ns, "releaseName": "shop", "autoSync": True}
        for env, ns in namespaces.items()
    ]  # fmt: skip
    files = {"gitward.yaml": yaml.safe_dump({"apps": apps}, sort_keys=False)}
    for env in namespaces:
        app = tmp / env
        app.mkdir(parents=True)
        chart = {
            "apiVersion": "v2",
            "name": "shop",
            "version": "1.0.0",
            "dependencies": [{"name": "web", "version": "0.1.0", "repository": chart_repo}],
        }
        (app / "Chart.yaml").write_text(yaml.safe_dump(chart, sort_keys=False))
        helm("dependency", "update", "--plain-http", ".", cwd=app)
        for name in ("Chart.yaml", "Chart.lock"):
            files[f"apps/{env}/shop/{name}"] = (app / name).read_text()
        files[f"apps/{env}/shop/web.yaml"] = 'replicas: 1\nimage:\n  tag: "0.1.0"  # from CI\n'
    return files


@pytest.fixture
def setup(forge: Forge, cluster: Cluster, annotated_charts: str, tmp_path: Path) -> Iterator[Setup]:
    namespaces = {env: f"t-{uuid.uuid4().hex[:8]}" for env in ("staging", "prod")}
    for ns in namespaces.values():
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    repo = forge.create_repo(
        protected=True, files=app_files(tmp_path / "files", annotated_charts, namespaces)
    )
    clone = forge.clone(repo, forge.promoter, tmp_path / "clone")
    # As a person's clone would be: the token comes from the environment, not the URL.
    run_git(clone, "remote", "set-url", "origin", f"{forge.url}/{repo.path}.git")
    env = {
        "GITWARD_FORGE_URL": forge.url,
        "GITWARD_FORGE_TOKEN_PROMOTER": forge.promoter.token,
    }
    try:
        yield Setup(repo=repo, clone=clone, env=env, namespaces=namespaces)
    finally:
        cluster.forget_apps(*(f"{env}.shop-{env}" for env in namespaces))
        for ns in namespaces.values():
            cluster.delete("v1", "Namespace", ns)


def test_a_promotion_pull_request_is_opened_then_updated_never_duplicated(
    forge: Forge, setup: Setup
) -> None:
    opened = setup.promote("web", "0.2.0", "--env", "prod", "-o", "json")
    assert opened.returncode == 0, opened.stderr
    doc = json.loads(opened.stdout)
    (promotion,) = doc
    assert promotion["outcome"] == "opened"
    number = promotion["pullRequest"]["number"]
    (pull,) = pulls(forge, setup.repo)
    assert pull["number"] == number and pull["title"] == "Promote web to 0.2.0 in prod"
    assert pull["user"]["login"] == forge.promoter.user
    assert pull["head"]["ref"] == "gitward/promote/web/prod"
    body = pull["body"]
    assert "`0.1.0` | `0.2.0`" in body
    assert f"{revision_of('0.1.0')}...{revision_of('0.2.0')}" in body  # code commits between
    assert "to create" in body  # the dry-run against the live cluster
    chart = yaml.safe_load(
        file_on(forge, setup.repo, "gitward/promote/web/prod", "apps/prod/shop/Chart.yaml")
    )
    lock = yaml.safe_load(
        file_on(forge, setup.repo, "gitward/promote/web/prod", "apps/prod/shop/Chart.lock")
    )
    assert chart["dependencies"][0]["version"] == lock["dependencies"][0]["version"] == "0.2.0"

    again = setup.promote("web", "0.2.0", "--env", "prod")
    assert again.returncode == 0, again.stderr
    assert f"up-to-date #{number}" in again.stdout
    tagged = setup.promote("web", "0.2.0", "--env", "prod", "--image", "0.2.0")
    assert tagged.returncode == 0, tagged.stderr
    assert f"updated #{number}" in tagged.stdout
    assert [p["number"] for p in pulls(forge, setup.repo)] == [number]
    values = file_on(forge, setup.repo, "gitward/promote/web/prod", "apps/prod/shop/web.yaml")
    assert 'tag: "0.2.0"  # from CI' in values

    in_git = setup.promote("web", "0.1.0", "--env", "staging")
    assert in_git.returncode == 0, in_git.stderr
    assert "web is already at 0.1.0 in staging in git; nothing to do" in in_git.stdout


def test_an_unpublished_version_is_refused_before_any_pull_request(
    forge: Forge, setup: Setup, annotated_charts: str
) -> None:
    refused = setup.promote("web", "9.9.9", "--env", "prod")
    assert refused.returncode == 2
    assert f"chart web version 9.9.9 not found in {annotated_charts}" in refused.stderr
    assert pulls(forge, setup.repo) == []
    unknown = setup.promote("nope", "1.0.0")
    assert unknown.returncode == 2 and "chart nope: no app" in unknown.stderr
    setup.env["GITWARD_FORGE_URL"] = "http://127.0.0.1:1"
    unreachable = setup.promote("web", "0.2.0", "--env", "prod")
    assert unreachable.returncode == 3 and "unreachable" in unreachable.stderr
    assert forge.promoter.token not in unreachable.stderr
    with forge.api(forge.reviewer) as api:
        branches = [b["name"] for b in api.get(f"/repos/{setup.repo.path}/branches").json()]
    assert branches == ["main"]  # nothing was pushed


def test_the_promoter_can_neither_push_to_main_nor_merge(forge: Forge, setup: Setup) -> None:
    assert setup.promote("web", "0.2.0", "--env", "prod").returncode == 0
    (pull,) = pulls(forge, setup.repo)
    pushed = gitward_git_push(setup, forge)
    assert pushed.returncode != 0 and "protected" in pushed.stderr.lower()
    merged = merge(forge, forge.promoter, setup.repo, pull["number"])
    assert merged in (403, 405), merged
    assert merge(forge, forge.reviewer, setup.repo, pull["number"]) == 200


def gitward_git_push(setup: Setup, forge: Forge) -> Any:
    run_git(setup.clone, "-c", "user.name=p", "-c", "user.email=p@p", "commit", "-q",
            "--allow-empty", "-m", "straight to main")  # fmt: skip
    url = setup.repo.clone_url(forge.promoter)
    return subprocess.run(
        ["git", "-C", str(setup.clone), "push", url, "HEAD:main"],
        capture_output=True,
        text=True,
        check=False,
    )


def test_from_staging_promotes_what_runs_healthy_there_and_refuses_otherwise(
    forge: Forge, setup: Setup, cluster: Cluster
) -> None:
    never = setup.promote("web", "--from", "staging", "--to", "prod")
    assert never.returncode == 2 and "never synced" in never.stderr
    assert setup.promote("web", "0.2.0", "--env", "staging").returncode == 0
    (pull,) = pulls(forge, setup.repo)
    assert merge(forge, forge.reviewer, setup.repo, pull["number"]) == 200
    synced = setup.sync("shop-staging", forge.deployer.token)
    assert synced.returncode == 0, synced.stderr

    def healthy() -> bool:
        shown = gitward(
            "status", "shop-staging", "--repo", f"{forge.url}/{setup.repo.path}.git",
            "--revision", "main", "-o", "json",
            env={"GITWARD_GIT_TOKEN": forge.deployer.token, "GITWARD_GIT_USERNAME": "deployer"},
        )  # fmt: skip
        return shown.returncode == 0

    deadline = time.monotonic() + 60
    while not healthy():
        assert time.monotonic() < deadline, "staging never became Healthy"
        time.sleep(1)
    done = setup.promote("web", "--from", "staging", "--to", "prod", "-o", "json")
    assert done.returncode == 0, done.stderr
    (promotion,) = json.loads(done.stdout)
    assert (promotion["version"], promotion["outcome"]) == ("0.2.0", "opened")
    assert promotion["pullRequest"]["head"] == "gitward/promote/web/prod"


def test_a_rollback_pull_request_restores_the_app_and_history_names_it(
    forge: Forge, setup: Setup
) -> None:
    deployer = forge.deployer.token
    first = setup.sync("shop-prod", deployer)
    assert first.returncode == 0, first.stderr
    assert setup.promote("web", "0.2.0", "--env", "prod").returncode == 0
    (pull,) = pulls(forge, setup.repo)
    assert merge(forge, forge.reviewer, setup.repo, pull["number"]) == 200
    second = setup.sync("shop-prod", deployer)
    assert second.returncode == 0, second.stderr
    before = history("prod.shop-prod")
    assert before[0]["charts"] == [f"web@0.2.0 (commit {revision_of('0.2.0')[:12]})"]
    back_to = before[1]["revision"]

    rolled = setup.rollback("shop-prod", "-o", "json")
    assert rolled.returncode == 0, rolled.stderr
    doc = json.loads(rolled.stdout)
    assert doc["outcome"] == "opened" and doc["to"] == back_to
    assert doc["files"] == ["apps/prod/shop/Chart.lock", "apps/prod/shop/Chart.yaml"]
    number = doc["pullRequest"]["number"]
    assert merge(forge, forge.reviewer, setup.repo, number) == 200
    third = setup.sync("shop-prod", deployer)
    assert third.returncode == 0, third.stderr
    newest = history("prod.shop-prod")[0]
    # the previous version runs again
    assert newest["charts"] == [f"web@0.1.0 (commit {revision_of('0.1.0')[:12]})"]
    assert f"#{number}" in newest["subject"]
    assert f"Roll back shop-prod to {back_to[:12]}" in newest["subject"]


# -- the controller: previews and deploy statuses -------------------------------


@pytest.fixture
def controller(forge: Forge, setup: Setup, tmp_path: Path) -> Iterator[RunningController]:
    running = start_controller(forge, setup.repo, tmp_path)
    send_webhooks(forge, setup.repo, running)
    try:
        yield running
    finally:
        running.stop()


def test_a_pull_request_gets_one_preview_comment_and_a_status_edited_on_each_push(
    forge: Forge, setup: Setup, controller: RunningController
) -> None:
    assert setup.promote("web", "0.2.0", "--env", "prod").returncode == 0
    (pull,) = pulls(forge, setup.repo)
    head = pull["head"]["sha"]
    preview = eventually(
        lambda: (
            statuses(forge, setup.repo, head).get("gitward/preview", {}).get("status")
            in ("success", "failure")
            and statuses(forge, setup.repo, head)["gitward/preview"]
        ),
        timeout=60,
        what="gitward/preview on the head",
    )
    assert preview["status"] == "success", preview
    (comment,) = [
        c for c in comments(forge, setup.repo, pull["number"]) if "gitward:preview" in c["body"]
    ]
    assert "shop-prod" in comment["body"] and head[:12] in comment["body"]
    assert "shop-staging" not in comment["body"]  # only the app the change touches
    assert comment["user"]["login"] == forge.reporter.user

    # A second push: the same comment, now about the new head.
    assert setup.promote("web", "0.2.0", "--env", "prod", "--image", "0.2.0").returncode == 0
    (pull,) = pulls(forge, setup.repo)
    new_head = pull["head"]["sha"]
    assert new_head != head
    eventually(
        lambda: (
            statuses(forge, setup.repo, new_head).get("gitward/preview", {}).get("status")
            == "success"
        ),
        timeout=60,
        what="gitward/preview on the new head",
    )
    ours = [
        c for c in comments(forge, setup.repo, pull["number"]) if "gitward:preview" in c["body"]
    ]
    assert [c["id"] for c in ours] == [comment["id"]]
    assert new_head[:12] in ours[0]["body"]
    states = [
        s["status"]
        for s in all_statuses(forge, setup.repo, new_head)
        if s["context"] == "gitward/preview"
    ]
    assert "pending" in states and "success" in states


def test_a_forged_pull_request_event_previews_nothing(
    forge: Forge, setup: Setup, tmp_path: Path
) -> None:
    running = start_controller(forge, setup.repo, tmp_path, secret=SECRET)
    try:
        send_webhooks(
            forge, setup.repo, running, secret="not-the-secret",
            events=("pull_request", "pull_request_sync"),
        )  # fmt: skip
        assert setup.promote("web", "0.2.0", "--env", "prod").returncode == 0
        (pull,) = pulls(forge, setup.repo)
        time.sleep(5)
        assert "gitward/preview" not in statuses(forge, setup.repo, pull["head"]["sha"])
        assert comments(forge, setup.repo, pull["number"]) == []
        assert "signature did not verify" in running.log.read_text()
    finally:
        running.stop()


def test_a_merged_commit_gets_its_deploy_status_once(
    forge: Forge, setup: Setup, controller: RunningController, cluster: Cluster
) -> None:
    assert setup.promote("web", "0.2.0", "--env", "prod").returncode == 0
    (pull,) = pulls(forge, setup.repo)
    assert merge(forge, forge.reviewer, setup.repo, pull["number"]) == 200
    with forge.api(forge.reviewer) as api:
        merged = api.get(f"/repos/{setup.repo.path}/pulls/{pull['number']}").json()
    sha = merged["merge_commit_sha"]
    done = eventually(
        lambda: (
            statuses(forge, setup.repo, sha).get("gitward/deploy/shop-prod", {}).get("status")
            in ("success", "failure")
            and statuses(forge, setup.repo, sha)["gitward/deploy/shop-prod"]
        ),
        timeout=90,
        what="gitward/deploy/shop-prod on the merge commit",
    )
    assert done["status"] == "success", done
    assert done["target_url"] == f"{controller.url}/api/v1/apps/shop-prod"
    time.sleep(3)  # polls and reconciles go on; nothing is sent twice
    sent = [
        s["status"]
        for s in all_statuses(forge, setup.repo, sha)
        if s["context"] == "gitward/deploy/shop-prod"
    ]
    assert sorted(sent) == ["pending", "success"], sent
