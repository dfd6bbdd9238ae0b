"""The dev forge (a real Gitea) as the e2e tests use it: URLs, tokens, repos, pull
requests and commit statuses, and a controller that takes the forge's webhooks."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from gitward.dev import forge as devforge
from gitward.dev.forge_api import Identity, RepoKind, add_webhook
from gitward.dev.ports import free_port
from gitward.tools import find_tool
from tests.e2e.helpers import gitward, run_git

if TYPE_CHECKING:  # conftest imports this module, and test_controller imports conftest
    from tests.e2e.test_controller import RunningController


@dataclass(frozen=True)
class ForgeRepo:
    """A repo of the forge's org."""

    owner: str
    name: str
    base_url: str

    @property
    def path(self) -> str:
        return f"{self.owner}/{self.name}"

    def clone_url(self, who: Identity) -> str:
        """The repo's HTTP clone URL carrying ``who``'s token as its password."""
        host = self.base_url.removeprefix("http://")
        return f"http://{who.user}:{quote(who.token, safe='')}@{host}/{self.path}.git"


class Forge:
    """The running dev forge, with its identities and helpers for tests."""

    def __init__(self, dev: devforge.Forge) -> None:
        self.dev = dev
        self.url = dev.url
        self.registry = dev.registry
        self.chart_repo = dev.chart_repo
        self.admin = dev.admin
        self.builder = dev.builder
        self.deployer = dev.deployer
        self.promoter = dev.promoter
        self.reviewer = dev.reviewer
        self.reporter = dev.reporter

    def create_repo(
        self,
        name: str | None = None,
        *,
        protected: bool = False,
        kind: RepoKind = RepoKind.CONFIG,
        files: dict[str, str] | None = None,
        required_approvals: int = 0,
    ) -> ForgeRepo:
        """A new repo of the org (a unique name unless given), ``main`` protected if asked."""
        name = name or f"r-{uuid.uuid4().hex[:8]}"
        self.dev.create_repo(
            name,
            kind=kind,
            files=files,
            protect=protected,
            required_approvals=required_approvals,
        )
        return ForgeRepo(owner=self.dev.org, name=name, base_url=self.url)

    def api(self, who: Identity) -> httpx.Client:
        """A client of Gitea's API v1 acting as ``who`` (close it, or use ``with``)."""
        return httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"token {who.token}"},
            timeout=30,
        )

    def clone(self, repo: ForgeRepo, who: Identity, into: Path) -> Path:
        run_git(into.parent, "clone", "-q", repo.clone_url(who), str(into))
        return into

    def registry_token(self, who: Identity, repository: str, actions: str) -> httpx.Response:
        """Ask Gitea's OCI token endpoint for a bearer token as ``who``."""
        return httpx.get(
            f"{self.url}/v2/token",
            params={"scope": f"repository:{repository}:{actions}", "service": "container_registry"},
            auth=(who.user, who.token),
            timeout=30,
        )


def blob_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- pull requests and commit statuses, as the reviewer sees them -----------------


def pulls(forge: Forge, repo: ForgeRepo, state: str = "open") -> list[dict[str, Any]]:
    with forge.api(forge.reviewer) as api:
        got = api.get(f"/repos/{repo.path}/pulls", params={"state": state})
        got.raise_for_status()
        return list(got.json())


def file_on(forge: Forge, repo: ForgeRepo, ref: str, path: str) -> str:
    with forge.api(forge.reviewer) as api:
        got = api.get(f"/repos/{repo.path}/raw/{path}", params={"ref": ref})
        got.raise_for_status()
        return got.text


def merge(forge: Forge, who: Identity, repo: ForgeRepo, number: int) -> int:
    """The merge's HTTP status; Gitea's "try again later" (still checking) is waited out."""
    deadline = time.monotonic() + 60
    with forge.api(who) as api:
        while True:
            answer = api.post(f"/repos/{repo.path}/pulls/{number}/merge", json={"Do": "merge"})
            if "try again later" not in answer.text or time.monotonic() > deadline:
                return answer.status_code
            time.sleep(0.2)


def merge_commit(forge: Forge, repo: ForgeRepo, number: int) -> str:
    with forge.api(forge.reviewer) as api:
        got = api.get(f"/repos/{repo.path}/pulls/{number}")
        got.raise_for_status()
        return str(got.json()["merge_commit_sha"])


def statuses(forge: Forge, repo: ForgeRepo, sha: str) -> dict[str, dict[str, Any]]:
    with forge.api(forge.reviewer) as api:
        got = api.get(f"/repos/{repo.path}/commits/{sha}/status")
        got.raise_for_status()
        return {s["context"]: s for s in got.json().get("statuses") or []}


def all_statuses(forge: Forge, repo: ForgeRepo, sha: str) -> list[dict[str, Any]]:
    with forge.api(forge.reviewer) as api:
        got = api.get(f"/repos/{repo.path}/statuses/{sha}", params={"limit": 50})
        got.raise_for_status()
        return list(got.json())


def final_status(
    forge: Forge, repo: ForgeRepo, sha: str, context: str, *, timeout: float = 90
) -> dict[str, Any]:
    """The commit status ``context`` on ``sha`` once it is no longer pending."""
    from tests.e2e.test_controller import eventually

    found: dict[str, Any] = eventually(
        lambda: (
            statuses(forge, repo, sha).get(context, {}).get("status") in ("success", "failure")
            and statuses(forge, repo, sha)[context]
        ),
        timeout=timeout,
        what=f"{context} on {sha[:12]}",
    )
    return found


def comments(forge: Forge, repo: ForgeRepo, number: int) -> list[dict[str, Any]]:
    with forge.api(forge.reviewer) as api:
        got = api.get(f"/repos/{repo.path}/issues/{number}/comments")
        got.raise_for_status()
        return list(got.json())


def history(key: str) -> list[dict[str, Any]]:
    """``gitward history KEY`` as JSON, newest first."""
    shown = gitward("history", key, "-o", "json")
    assert shown.returncode == 0, shown.stderr
    return list(json.loads(shown.stdout))


# -- a controller that takes the forge's webhooks ------------------------------------

SECRET = "s3cret-pr-webhook"
EVENTS = ("push", "pull_request", "pull_request_sync")


def start_controller(
    forge: Forge,
    repo: ForgeRepo,
    tmp_path: Path,
    *,
    secret: str = SECRET,
    env: dict[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
) -> RunningController:
    """``gitward controller`` on the config repo, with the forge's settings, until ready.

    It reads the config repo as the deployer and writes statuses and comments as
    the reporter, which may do nothing else (test_forge.py shows what it cannot).
    """
    from tests.e2e.test_controller import RunningController

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "controller.log"
    args = [
        sys.executable, "-m", "gitward", "controller",
        "--repo", f"{forge.url}/{repo.path}.git", "--revision", "main",
        "--poll-interval", "2", "--listen", f"127.0.0.1:{port}", "--no-leader-election",
        "--forge", "gitea", "--forge-url", forge.url, "--public-url", url, *extra_args,
    ]  # fmt: skip
    environment = {
        **os.environ,
        "GITWARD_WEBHOOK_SECRET": secret,
        "GITWARD_CACHE": str(tmp_path / "cache"),
        # Its own cache, so the pinned helm is named rather than found there.
        "GITWARD_HELM": str(find_tool("helm")),
        "GITWARD_GIT_TOKEN": forge.deployer.token,
        "GITWARD_GIT_USERNAME": forge.deployer.user,
        "GITWARD_FORGE_TOKEN": forge.reporter.token,
        **(env or {}),
    }
    with log.open("w") as out:
        proc = subprocess.Popen(
            args, env=environment, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    running = RunningController(proc=proc, url=url, log=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"controller exited:\n{log.read_text()}")
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return running
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    running.stop()
    raise AssertionError(f"controller did not come up:\n{log.read_text()}")


def send_webhooks(
    forge: Forge,
    repo: ForgeRepo,
    controller: RunningController,
    *,
    secret: str = SECRET,
    events: tuple[str, ...] = EVENTS,
) -> int:
    """A webhook on ``repo`` posting ``events`` to the controller's Gitea endpoint."""
    target = f"{controller.url}/api/v1/webhooks/gitea"
    return add_webhook(forge.url, forge.admin.token, repo.name, target, secret, events=events)
