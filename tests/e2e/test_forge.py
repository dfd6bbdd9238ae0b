"""The dev forge is a real Gitea whose identities enforce the two trust zones."""

from __future__ import annotations

import asyncio
import os
import shlex
import stat
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitward.dev import forge as devforge
from gitward.dev import processes, state
from gitward.dev.forge_api import ForgeError, Identity, RepoKind
from gitward.dev.ports import free_port
from gitward.forge import CommitState, CommitStatus, ForgeRefused
from gitward.forge.gitea import GiteaForge
from gitward.tools import find_tool
from tests.e2e.forgekit import Forge, ForgeRepo, blob_digest, comments, statuses
from tests.e2e.helpers import EXAMPLE_CHARTS, gitward, package_chart, run_git

ENV_NAMES = (
    "GITWARD_FORGE_URL",
    "GITWARD_FORGE_TOKEN_DEPLOYER",
    "GITWARD_FORGE_TOKEN_PROMOTER",
    "GITWARD_FORGE_TOKEN_REVIEWER",
    "GITWARD_FORGE_TOKEN_REPORTER",
    "GITWARD_FORGE_TOKEN_ADMIN",
    "GITWARD_BUILD_REGISTRY",
    "GITWARD_BUILD_USER",
    "GITWARD_BUILD_TOKEN",
    "GITWARD_DEPLOY_USER",
    "GITWARD_DEPLOY_TOKEN",
    "GITWARD_CHART_REPO",
)


def upload_chart(forge: Forge, who: Identity, chart: Path) -> httpx.Response:
    """ChartMuseum's upload API, as Gitea serves it for the org."""
    return httpx.post(
        f"{forge.chart_repo}/api/charts",
        content=chart.read_bytes(),
        auth=(who.user, who.token),
        timeout=60,
    )


def push_blob(forge: Forge, who: Identity, repository: str, data: bytes) -> int:
    """Push one blob the way an OCI client does; the first refusal's status, else 201."""
    token = forge.registry_token(who, repository, "push,pull")
    if token.status_code != 200:
        return token.status_code
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    with httpx.Client(base_url=forge.url, headers=headers, timeout=60) as client:
        started = client.post(f"/v2/{repository}/blobs/uploads/")
        if started.status_code != 202:
            return started.status_code
        done = client.put(
            started.headers["Location"],
            params={"digest": blob_digest(data)},
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        return done.status_code


def chart_index(forge: Forge, who: Identity | None) -> httpx.Response:
    """The org's chart index, read as ``who`` (``None``: anonymously)."""
    auth = None if who is None else (who.user, who.token)
    return httpx.get(f"{forge.chart_repo}/index.yaml", auth=auth, timeout=30)


def test_the_deploy_identity_cannot_upload_a_chart_and_the_build_identity_can(
    forge: Forge, tmp_path: Path
) -> None:
    name = f"probe-{uuid.uuid4().hex[:8]}"
    chart = package_chart(EXAMPLE_CHARTS / "web", "0.1.0", tmp_path, name=name)

    refused = upload_chart(forge, forge.deployer, chart)
    assert refused.status_code in (401, 403), refused.text

    pushed = upload_chart(forge, forge.builder, chart)
    assert pushed.status_code == 201, pushed.text

    index = chart_index(forge, forge.deployer)
    assert index.status_code == 200 and name in index.text
    anonymous = chart_index(forge, None)
    assert anonymous.status_code == 401 and name not in anonymous.text


def test_the_deploy_identity_cannot_push_an_oci_blob_and_the_build_identity_can(
    forge: Forge,
) -> None:
    repository = f"{forge.dev.org}/probe-{uuid.uuid4().hex[:8]}"
    data = uuid.uuid4().bytes * 64

    assert push_blob(forge, forge.deployer, repository, data) in (401, 403)
    assert push_blob(forge, forge.builder, repository, data) == 201

    # The blob is there now, and the deploy identity may read it.
    token = forge.registry_token(forge.deployer, repository, "pull").json()["token"]
    got = httpx.get(
        f"{forge.url}/v2/{repository}/blobs/{blob_digest(data)}",
        headers={"Authorization": f"Bearer {token}"},
        follow_redirects=True,
        timeout=30,
    )
    assert got.status_code == 200 and got.content == data


def helm_as(who: Identity, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """helm with its own registry login file, logged in as ``who`` where ``args`` need it."""
    return subprocess.run(
        [str(find_tool("helm")), *args],
        input=who.token,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HELM_REGISTRY_CONFIG": str(config)},
        timeout=120,
    )


def test_helm_pushes_an_oci_chart_as_the_build_identity_only_and_pulls_it_as_the_deploy_one(
    forge: Forge, tmp_path: Path
) -> None:
    name = f"probe-{uuid.uuid4().hex[:8]}"
    chart = package_chart(EXAMPLE_CHARTS / "web", "0.1.0", tmp_path, name=name)
    target = f"oci://{forge.registry}/{forge.dev.org}"

    def login(who: Identity, config: Path) -> None:
        args = ("registry", "login", "--plain-http", forge.registry, "-u", who.user)
        done = helm_as(who, config, *args, "--password-stdin")
        assert done.returncode == 0, done.stderr

    deploy_config, build_config = tmp_path / "deploy.json", tmp_path / "build.json"
    login(forge.deployer, deploy_config)
    refused = helm_as(forge.deployer, deploy_config, "push", "--plain-http", str(chart), target)
    assert refused.returncode != 0 and "401" in refused.stderr, refused.stderr

    login(forge.builder, build_config)
    pushed = helm_as(forge.builder, build_config, "push", "--plain-http", str(chart), target)
    assert pushed.returncode == 0, pushed.stderr

    out = tmp_path / "pulled"
    out.mkdir()
    pulled = helm_as(
        forge.deployer,
        deploy_config,
        "pull",
        "--plain-http",
        f"{target}/{name}",
        "--version",
        "0.1.0",
        "-d",
        str(out),
    )
    assert pulled.returncode == 0, pulled.stderr
    assert (out / f"{name}-0.1.0.tgz").exists()


def git_push(clone: Path, ref: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(clone), "push", "origin", ref],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        timeout=60,
    )


def assert_push_refused_as_protected(clone: Path, ref: str) -> None:
    pushed = git_push(clone, ref)
    assert pushed.returncode != 0
    assert "protected" in pushed.stderr.lower(), pushed.stderr


def commit_file(clone: Path, rel: str, text: str) -> None:
    (clone / rel).write_text(text)
    run_git(clone, "add", rel)
    run_git(clone, "commit", "-qm", f"change {rel}")


def protected_clone(forge: Forge, who: Identity, into: Path) -> tuple[ForgeRepo, Path]:
    """A new config repo with ``main`` protected, cloned as ``who``, one commit ahead."""
    repo = forge.create_repo(protected=True, files={"gitward.yaml": "apps: {}\n"})
    clone = forge.clone(repo, who, into)
    commit_file(clone, "bump.txt", "1.2.3\n")
    return repo, clone


def open_pull_request(promoter: httpx.Client, repo: ForgeRepo, branch: str) -> dict[str, Any]:
    opened = promoter.post(
        f"/repos/{repo.path}/pulls",
        json={"title": "web 1.2.3", "head": branch, "base": "main"},
    )
    assert opened.status_code == 201, opened.text
    return dict(opened.json())


def try_merge(api: httpx.Client, repo: ForgeRepo, number: int) -> httpx.Response:
    return api.post(f"/repos/{repo.path}/pulls/{number}/merge", json={"Do": "merge"})


def is_merged(api: httpx.Client, repo: ForgeRepo, number: int) -> bool:
    return bool(api.get(f"/repos/{repo.path}/pulls/{number}").json()["merged"])


def test_the_promoter_cannot_push_to_protected_main_nor_merge_and_the_reviewer_merges(
    forge: Forge, tmp_path: Path
) -> None:
    repo, clone = protected_clone(forge, forge.promoter, tmp_path / "clone")
    assert_push_refused_as_protected(clone, "HEAD:main")

    branch = git_push(clone, "HEAD:refs/heads/promote/web-1.2.3")
    assert branch.returncode == 0, branch.stderr

    with forge.api(forge.promoter) as promoter:
        number = open_pull_request(promoter, repo, "promote/web-1.2.3")["number"]
        merge = try_merge(promoter, repo, number)
        assert merge.status_code in (403, 405), merge.text

    with forge.api(forge.reviewer) as reviewer:
        assert is_merged(reviewer, repo, number) is False
        merged = try_merge(reviewer, repo, number)
        assert merged.status_code == 200, merged.text
        on_main = reviewer.get(f"/repos/{repo.path}/contents/bump.txt", params={"ref": "main"})
        assert on_main.status_code == 200


def test_the_deployer_reads_a_config_repo_but_cannot_push_and_cannot_see_a_code_repo(
    forge: Forge, tmp_path: Path
) -> None:
    config = forge.create_repo()
    clone = forge.clone(config, forge.deployer, tmp_path / "config")
    assert (clone / "README.md").exists()
    commit_file(clone, "x.txt", "x\n")
    pushed = git_push(clone, "HEAD:refs/heads/deployer-was-here")
    assert pushed.returncode != 0

    code = forge.create_repo(kind=RepoKind.CODE)
    with forge.api(forge.deployer) as deployer:
        assert deployer.get(f"/repos/{code.path}").status_code == 404
        assert deployer.get(f"/repos/{config.path}").status_code == 200


def open_pull(forge: Forge, tmp_path: Path) -> tuple[ForgeRepo, int, str]:
    """A protected config repo with a pull request the promoter opened: repo, number, head."""
    repo, clone = protected_clone(forge, forge.promoter, tmp_path / "promoter")
    assert git_push(clone, "HEAD:refs/heads/promote/web").returncode == 0
    with forge.api(forge.promoter) as promoter:
        pull = open_pull_request(promoter, repo, "promote/web")
    return repo, int(pull["number"]), str(pull["head"]["sha"])


def report(
    api: httpx.Client, repo: ForgeRepo, number: int, head: str
) -> tuple[httpx.Response, httpx.Response]:
    """What gitward reports on a pull request: a commit status on its head, then a comment."""
    status = api.post(
        f"/repos/{repo.path}/statuses/{head}",
        json={"state": "success", "context": "gitward/deploy/web", "description": "probe"},
    )
    comment = api.post(f"/repos/{repo.path}/issues/{number}/comments", json={"body": "preview"})
    return status, comment


def test_the_reporter_sets_a_commit_status_and_comments_on_a_pull_request(
    forge: Forge, tmp_path: Path
) -> None:
    repo, number, head = open_pull(forge, tmp_path)
    with forge.api(forge.reporter) as reporter:
        status, comment = report(reporter, repo, number, head)
        assert status.status_code == 201, status.text
        assert comment.status_code == 201, comment.text
        # A later push edits the same comment.
        edited = reporter.patch(
            f"/repos/{repo.path}/issues/comments/{comment.json()['id']}",
            json={"body": "preview, again"},
        )
        assert edited.status_code == 200, edited.text
    with forge.api(forge.reviewer) as reviewer:
        shown = reviewer.get(f"/repos/{repo.path}/commits/{head}/status").json()
    (on_head,) = shown["statuses"]
    assert (on_head["context"], on_head["status"]) == ("gitward/deploy/web", "success")
    assert on_head["creator"]["login"] == forge.reporter.user
    (said,) = comments(forge, repo, number)
    assert (said["user"]["login"], said["body"]) == (forge.reporter.user, "preview, again")


def test_the_reporter_can_neither_push_a_branch_nor_merge_nor_reach_code_or_packages(
    forge: Forge, tmp_path: Path
) -> None:
    repo, number, _ = open_pull(forge, tmp_path)
    clone = forge.clone(repo, forge.reporter, tmp_path / "reporter")
    commit_file(clone, "x.txt", "x\n")
    assert_push_refused_as_protected(clone, "HEAD:main")
    # Gitea's code write, which a commit status needs, would let it push any
    # other branch; the protected repo's other branches are fenced too.
    assert_push_refused_as_protected(clone, "HEAD:refs/heads/reporter-was-here")

    code = forge.create_repo(kind=RepoKind.CODE)
    chart = package_chart(EXAMPLE_CHARTS / "web", "0.1.0", tmp_path, name="probe-reporter")
    assert upload_chart(forge, forge.reporter, chart).status_code in (401, 403)
    index = chart_index(forge, forge.reporter)
    assert index.status_code in (401, 403), index.text
    with forge.api(forge.reporter) as reporter:
        merge = try_merge(reporter, repo, number)
        assert merge.status_code in (403, 405), merge.text
        assert is_merged(reporter, repo, number) is False
        assert reporter.get(f"/repos/{code.path}").status_code == 404
        branch = reporter.post(
            f"/repos/{repo.path}/branches",
            json={"new_branch_name": "reporter-api", "old_ref_name": "main"},
        )
        # Gitea's own pre-receive hook refuses it, which its API answers with a 500.
        assert not branch.is_success, branch.text
        names = [b["name"] for b in reporter.get(f"/repos/{repo.path}/branches").json()]
        assert sorted(names) == ["main", "promote/web"]
        # Its token writes repositories and issues only: no admin, org or user settings.
        hook = reporter.post(
            f"/repos/{repo.path}/hooks",
            json={
                "type": "gitea",
                "config": {"url": "http://127.0.0.1:1/", "content_type": "json"},
            },
        )
        assert hook.status_code == 403, hook.text
        assert reporter.get("/user/emails").status_code == 403


def test_the_deployer_cannot_set_a_commit_status_nor_comment_and_gitward_names_the_permission(
    forge: Forge, tmp_path: Path
) -> None:
    repo, number, head = open_pull(forge, tmp_path)
    with forge.api(forge.deployer) as deployer:
        status, comment = report(deployer, repo, number, head)
        assert status.status_code == 403, status.text
        assert comment.status_code == 403, comment.text

    async def as_gitward() -> str:
        adapter = GiteaForge(url=forge.url, repo=repo.path, token=forge.deployer.token)
        try:
            with pytest.raises(ForgeRefused) as refused:
                await adapter.set_status(
                    sha=head,
                    status=CommitStatus(context="gitward/deploy/web", state=CommitState.SUCCESS),
                )
        finally:
            await adapter.aclose()
        return str(refused.value)

    message = asyncio.run(as_gitward())
    assert "write:repository scope and write access to the repository" in message, message
    assert forge.deployer.token not in message
    assert statuses(forge, repo, head) == {}
    assert comments(forge, repo, number) == []


def test_dev_env_prints_every_forge_variable_from_a_state_file_only_its_owner_reads(
    forge: Forge,
) -> None:
    result = gitward("dev", "env")
    assert result.returncode == 0, result.stderr
    printed = {}
    for line in result.stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        printed[key] = shlex.split(value)[0]
    assert set(ENV_NAMES) <= set(printed)
    assert printed["GITWARD_FORGE_URL"] == forge.url
    assert printed["GITWARD_BUILD_REGISTRY"] == forge.registry
    assert printed["GITWARD_CHART_REPO"] == f"{forge.url}/api/packages/gitward/helm"
    assert printed["GITWARD_BUILD_TOKEN"] == forge.builder.token
    assert printed["GITWARD_DEPLOY_TOKEN"] == forge.deployer.token
    assert printed["GITWARD_FORGE_TOKEN_PROMOTER"] == forge.promoter.token
    assert printed["GITWARD_FORGE_TOKEN_REPORTER"] == forge.reporter.token
    assert len({printed[k] for k in ENV_NAMES if "TOKEN" in k}) == 6  # one token each

    mode = stat.S_IMODE(state.state_file().stat().st_mode)
    assert mode == 0o600, oct(mode)


def test_dev_up_with_the_forge_again_reuses_the_running_forge(forge: Forge) -> None:
    result = gitward("dev", "up", "--forge")
    assert result.returncode == 0, result.stderr
    assert "already running" in result.stdout
    assert f"forge:      {forge.url}" in result.stdout
    again = devforge.current()
    assert again is not None and again.pid == forge.dev.pid
    assert again.builder.token == forge.builder.token


def fake_gitea(tmp_path: Path, body: str) -> Path:
    """A ``gitea`` that runs ``body`` first and otherwise is the pinned build."""
    script = tmp_path / "bin" / "gitea"
    script.parent.mkdir()
    real = find_tool("gitea")
    script.write_text(f'#!/bin/sh\n{body}\nexec "{real}" "$@"\n')
    script.chmod(0o755)
    return script


def test_dev_up_whose_forge_dies_stops_the_cluster_it_started_too(tmp_path: Path) -> None:
    env = {
        "GITWARD_STATE": str(tmp_path / "state"),
        "GITWARD_GITEA": str(fake_gitea(tmp_path, 'echo "listen: simulated failure" >&2; exit 1')),
    }
    try:
        result = gitward("dev", "up", "--forge", env=env)
        assert result.returncode == 3, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "gitea exited: listen: simulated failure" in lines[0]
        assert not processes.under(tmp_path / "state")
        assert not (tmp_path / "state" / "dev.json").exists()
    finally:
        gitward("dev", "down", env=env)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        pytest.param(
            'if [ "$1" = web ]; then echo "listen: simulated failure" >&2; exit 1; fi',
            "gitea exited: listen: simulated failure",
            id="gitea-dies",
        ),
        pytest.param(
            'if [ "$1" = admin ]; then echo "CreateUser: simulated failure" >&2; exit 1; fi',
            "admin user create failed: CreateUser: simulated failure",
            id="setup-fails-after-gitea-started",
        ),
    ],
)
def test_a_forge_that_fails_to_start_says_why_and_leaves_no_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, said: str
) -> None:
    monkeypatch.setenv("GITWARD_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("GITWARD_GITEA", str(fake_gitea(tmp_path, body)))

    with pytest.raises(ForgeError) as failed:
        devforge.start(free_port())

    message = str(failed.value)
    assert said in message and "\n" not in message
    assert not processes.under(tmp_path / "state")
    assert devforge.current() is None
