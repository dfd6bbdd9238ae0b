"""The demo's release flow on the dev forge (Gitea): releases and rollbacks are pull requests.

Run by ``scripts/demo`` after ``gitward dev up --forge``, with the venv's python:

1. the example code repo and a config repo (hello in ``staging``) on the forge;
2. a controller with the forge's webhooks: it previews pull requests and sets
   deploy statuses (``--forge-url``);
3. ``gitward ci`` publishes hello 1.0.0 as the build identity; the controller
   deploys it;
4. a new commit in the code repo, then ``gitward ci --promote staging``: the
   promotion pull request, as the promoter;
5. the controller's preview comment and ``gitward/preview`` status on it;
6. a person (the reviewer) merges it; the controller deploys it and sets
   ``gitward/deploy/hello`` on the merge commit;
7. ``gitward rollback hello`` opens a pull request; merged, 1.0.0 runs
   again and ``gitward history`` says so.

Each step prints what happened, with the pull requests' URLs. The code commits
have fixed dates, so a second run finds both versions already published (they
are immutable); the config repo is new on each run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import yaml

from gitward.dev import baseimage, cluster
from gitward.dev import forge as devforge
from gitward.dev.forge_api import Identity, RepoKind, add_webhook
from gitward.dev.ports import free_port

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
APP = "hello"
NAMESPACE = "staging"
KEY = f"staging.{APP}"  # environment.name
SECRET = "demo-webhook-secret"


def say(text: str) -> None:
    print(text, flush=True)


def run(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """``argv``'s stdout; its stderr is shown as it comes (gitward's progress lines)."""
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"demo: {' '.join(argv[:3])} … exited {done.returncode}")
    return done.stdout


def git(cwd: Path, *args: str, date: str = "") -> str:
    env = {**os.environ}
    if date:
        env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    who = ("-c", "user.name=Demo", "-c", "user.email=demo@example.com")
    return run(["git", *who, *args], cwd=cwd, env=env).strip()


def eventually(check: Callable[[], T | None], what: str, timeout: float = 120) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.3)
    raise SystemExit(f"demo: gave up waiting for {what}")


class Demo:
    def __init__(self, forge: devforge.Forge, work: Path) -> None:
        self.forge = forge
        self.work = work
        self.controller: subprocess.Popen[str] | None = None
        self.log: Path | None = None

    def api(self, who: Identity) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.forge.url}/api/v1",
            headers={"Authorization": f"token {who.token}"},
            timeout=30,
        )

    def clone_url(self, repo: str, who: Identity) -> str:
        host = self.forge.url.removeprefix("http://")
        return f"http://{who.user}:{quote(who.token, safe='')}@{host}/{self.forge.org}/{repo}.git"

    def build_env(self) -> dict[str, str]:
        """The build side: push rights on the forge's packages, no kubeconfig, no forge token."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k != "KUBECONFIG" and not k.startswith(("GITWARD_FORGE_TOKEN", "GITWARD_DEPLOY_"))
        }
        return env | {
            "GITWARD_REGISTRY": f"{self.forge.registry}/{self.forge.org}",
            "GITWARD_CHART_REPO": self.forge.chart_repo,
            "GITWARD_BUILD_USER": self.forge.builder.user,
            "GITWARD_BUILD_TOKEN": self.forge.builder.token,
            "GITWARD_BASE_IMAGE": os.environ["GITWARD_BASE_IMAGE"],
            "DOCKER_CONFIG": str(self.work / "docker"),
        }

    def ci(self, code: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        out = run(["gitward", "ci", "--repo", str(code), "-o", "json", *args],
                  env=env or self.build_env())  # fmt: skip
        record: dict[str, Any] = json.loads(out)
        return record

    # -- 1. the repos --------------------------------------------------------

    def code_repo(self) -> Path:
        name = "demo-hello"
        self.recreate(name)
        self.forge.create_repo(name, kind=RepoKind.CODE, files={"README.md": "# hello\n"})
        code = self.work / "hello"
        shutil.copytree(ROOT / "examples" / "code" / "hello", code)
        git(code, "init", "-q", "-b", "main")
        git(code, "add", "-A")
        git(code, "commit", "-qm", "hello 1.0.0", date="2026-01-01T00:00:00Z")
        git(code, "tag", "v1.0.0")
        git(code, "remote", "add", "origin", self.clone_url(name, self.forge.reviewer))
        git(code, "push", "-qf", "origin", "main", "v1.0.0")
        say(f"code repo:   {self.forge.url}/{self.forge.org}/{name}")
        return code

    def config_repo(self, version: str) -> str:
        # The same URL on every run: gitward knows an app by the repo it comes from, and
        # the app's objects from an earlier run are its own.
        name = "demo-config"
        self.recreate(name)
        app = {
            "name": APP, "environment": "staging", "path": "apps/staging/hello",
            "namespace": NAMESPACE, "createNamespace": True, "releaseName": "hello",
            "autoSync": True, "selfHeal": True,
        }  # fmt: skip
        work = self.work / "config-files" / "apps" / "staging" / "hello"
        work.mkdir(parents=True)
        chart = {
            "apiVersion": "v2",
            "name": "hello-app",
            "version": "1.0.0",
            "dependencies": [
                {"name": "hello", "version": version, "repository": self.forge.chart_repo}
            ],
        }
        (work / "Chart.yaml").write_text(yaml.safe_dump(chart, sort_keys=False))
        self.lock(work)
        files = {
            "gitward.yaml": yaml.safe_dump({"apps": [app]}, sort_keys=False),
            "apps/staging/hello/Chart.yaml": (work / "Chart.yaml").read_text(),
            "apps/staging/hello/Chart.lock": (work / "Chart.lock").read_text(),
            "apps/staging/hello/hello.yaml": f'replicas: 2\nimage:\n  tag: "{version}"\n',
            "apps/staging/hello/.gitignore": "charts/\n",
        }
        self.forge.create_repo(name, files=files, protect=True)
        say(f"config repo: {self.forge.url}/{self.forge.org}/{name} (main protected)")
        return name

    def recreate(self, name: str) -> None:
        """Deletes an earlier run's repo of that name, so each run starts the same."""
        with self.api(self.forge.admin) as api:
            gone = api.delete(f"/repos/{self.forge.org}/{name}")
            if gone.status_code not in (204, 404):
                raise SystemExit(f"demo: deleting {name}: {gone.status_code} {gone.text}")

    def lock(self, app_dir: Path) -> None:
        """``Chart.lock`` as ``gitward promote`` writes it: helm, reading as the deployer."""
        from gitward.render.helm.charts import read_chart
        from gitward.render.helm.locking import update_lock

        os.environ["GITWARD_DEPLOY_USER"] = self.forge.deployer.user
        os.environ["GITWARD_DEPLOY_TOKEN"] = self.forge.deployer.token
        root = app_dir.parents[2]
        update_lock(read_chart(app_dir=app_dir, label="hello", root=root), root=root)

    # -- 2. the controller ---------------------------------------------------

    def start_controller(self, config: str) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = self.work / "controller-forge.log"
        env = {
            **os.environ,
            "GITWARD_WEBHOOK_SECRET": SECRET,
            # Reads the config repo and the chart repository as the deployer (read only);
            # writes previews and statuses as the reporter, which may do nothing else.
            "GITWARD_GIT_USERNAME": self.forge.deployer.user,
            "GITWARD_GIT_TOKEN": self.forge.deployer.token,
            "GITWARD_DEPLOY_USER": self.forge.deployer.user,
            "GITWARD_DEPLOY_TOKEN": self.forge.deployer.token,
            "GITWARD_FORGE_TOKEN": self.forge.reporter.token,
        }
        argv = [
            "gitward", "controller", "--repo", f"{self.forge.url}/{self.forge.org}/{config}.git",
            "--revision", "main", "--poll-interval", "5", "--listen", f"127.0.0.1:{port}",
            "--no-leader-election", "--forge", "gitea", "--forge-url", self.forge.url,
            "--public-url", url,
        ]  # fmt: skip
        with log.open("w") as out:
            self.controller = subprocess.Popen(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
            )

        def ready() -> bool:
            if self.controller is not None and self.controller.poll() is not None:
                raise SystemExit(f"demo: the controller exited:\n{log.read_text()[-2000:]}")
            try:
                return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        eventually(ready, "the controller")
        self.log = log
        add_webhook(
            self.forge.url, self.forge.admin.token, config, f"{url}/api/v1/webhooks/gitea",
            SECRET, events=("push", "pull_request", "pull_request_sync"),
        )  # fmt: skip
        say(f"controller:  {url} (webhooks from the config repo)")
        return url

    def stop_controller(self) -> None:
        if self.controller is not None and self.controller.poll() is None:
            self.controller.terminate()
            try:
                self.controller.wait(10)
            except subprocess.TimeoutExpired:
                self.controller.kill()

    # -- forge reads and the person's merge ------------------------------------

    def status(self, repo: str, sha: str, context: str) -> dict[str, Any] | None:
        with self.api(self.forge.reviewer) as api:
            got = api.get(f"/repos/{self.forge.org}/{repo}/commits/{sha}/status")
            got.raise_for_status()
            for s in got.json().get("statuses") or []:
                if s["context"] == context and s["status"] in ("success", "failure", "error"):
                    return dict(s)
        return None

    def final(self, repo: str, sha: str, context: str) -> dict[str, Any]:
        found = eventually(lambda: self.status(repo, sha, context), f"{context} on {sha[:12]}")
        say(f"  {context} on {sha[:12]}: {found['status']}: {found.get('description', '')}")
        if found["status"] != "success":
            raise SystemExit(f"demo: {context} is {found['status']}")
        return found

    def merge(self, repo: str, number: int) -> str:
        """Merges as the person (the reviewer); returns the merge commit."""
        path = f"/repos/{self.forge.org}/{repo}/pulls/{number}"
        with self.api(self.forge.reviewer) as api:
            for _ in range(200):  # Gitea asks to try again while it checks mergeability
                answer = api.post(f"{path}/merge", json={"Do": "merge"})
                if "try again later" not in answer.text:
                    break
                time.sleep(0.2)
            if answer.status_code != 200:
                raise SystemExit(f"demo: merging #{number}: {answer.status_code} {answer.text}")
            sha = str(api.get(path).json()["merge_commit_sha"])
        say(f"  merged #{number} as {self.forge.reviewer.user}: {sha[:12]}")
        return sha

    def preview_comment(self, repo: str, number: int) -> str:
        with self.api(self.forge.reviewer) as api:
            got = api.get(f"/repos/{self.forge.org}/{repo}/issues/{number}/comments")
            got.raise_for_status()
            for c in got.json():
                if "gitward:preview" in c["body"]:
                    return str(c["html_url"])
        return ""

    def synced_on(self, sha: str) -> bool:
        shown = subprocess.run(
            ["gitward", "history", KEY, "-o", "json"], capture_output=True, text=True, check=False
        )
        records = json.loads(shown.stdout) if shown.returncode == 0 else []
        return (
            bool(records)
            and records[0]["revision"] == sha
            and records[0]["result"] == ("succeeded")
        )


def main() -> None:
    forge, dev = devforge.current(), cluster.current()
    if forge is None or dev is None:
        raise SystemExit("demo: run 'gitward dev up --forge' first")
    # The demo's local config repo is not this flow's.
    for name in ("GITWARD_REPO", "GITWARD_REVISION"):
        os.environ.pop(name, None)
    os.environ.setdefault("GITWARD_BASE_IMAGE", baseimage.reference(dev.registry))
    work = Path(tempfile.mkdtemp(prefix="gitward-demo-forge-"))
    demo = Demo(forge, work)
    try:
        flow(demo)
    except SystemExit:
        if demo.log is not None:
            print(f"the controller's log ends:\n{demo.log.read_text()[-3000:]}", file=sys.stderr)
        raise
    finally:
        demo.stop_controller()
        shutil.rmtree(work, ignore_errors=True)


def flow(demo: Demo) -> None:
    forge = demo.forge
    say("-- the repos on the forge, and hello 1.0.0 from the build side")
    code = demo.code_repo()
    first = demo.ci(code)
    say(f"  gitward ci: {first['version']} {first['image']}")
    config = demo.config_repo(first["version"])

    say("-- the controller deploys main")
    demo.start_controller(config)
    head = run(["git", "ls-remote", demo.clone_url(config, forge.deployer), "main"]).split()[0]
    eventually(lambda: demo.synced_on(head), f"{APP}'s first sync")
    say(f"  {APP} synced on {head[:12]} with hello {first['version']}")

    say("-- a code commit, then gitward ci --promote staging (as the promoter)")
    app_py = code / "app.py"
    app_py.write_text(app_py.read_text().replace(" from hello ", " from hello, again, "))
    git(code, "commit", "-qam", "Say hello again", date="2026-01-02T00:00:00Z")
    git(code, "push", "-qf", "origin", "main")
    env = demo.build_env() | {
        "GITWARD_CONFIG_REPO": f"{forge.url}/{forge.org}/{config}.git",
        "GITWARD_FORGE_TOKEN_PROMOTER": forge.promoter.token,
    }
    second = demo.ci(code, "--promote", "staging", env=env)
    (promotion,) = second["promotions"]
    number, url = promotion["pullRequest"]["number"], promotion["pullRequest"]["url"]
    say(f"  promotion PR #{number} ({promotion['outcome']}): {url}")

    say("-- the controller previews it")
    with demo.api(forge.reviewer) as api:
        pull = api.get(f"/repos/{forge.org}/{config}/pulls/{number}").json()
    demo.final(config, pull["head"]["sha"], "gitward/preview")
    say(f"  preview comment: {demo.preview_comment(config, number)}")

    say("-- a person merges it; the controller deploys it and says so on the merge commit")
    merged = demo.merge(config, number)
    demo.final(config, merged, f"gitward/deploy/{APP}")
    eventually(lambda: demo.synced_on(merged), f"{APP}'s sync of {merged[:12]}")

    say(f"-- gitward rollback {APP}: a pull request back to hello {first['version']}")
    clone = work_clone(demo, config)
    rolled = json.loads(
        run(
            ["gitward", "rollback", APP, "--repo", str(clone), "-o", "json"],
            env={
                **os.environ,
                "GITWARD_FORGE_URL": forge.url,
                "GITWARD_FORGE_TOKEN_PROMOTER": forge.promoter.token,
            },
        )
    )
    undo = rolled["pullRequest"]["number"]
    say(f"  rollback PR #{undo}: {rolled['pullRequest']['url']}")
    undone = demo.merge(config, undo)
    demo.final(config, undone, f"gitward/deploy/{APP}")
    eventually(lambda: demo.synced_on(undone), f"{APP}'s sync of {undone[:12]}")
    say(f"$ gitward history {KEY}")
    sys.stdout.write(run(["gitward", "history", KEY]))


def work_clone(demo: Demo, config: str) -> Path:
    clone = demo.work / "config-clone"
    run(["git", "clone", "-q", demo.clone_url(config, demo.forge.promoter), str(clone)])
    # The forge and its repo are read from origin; the promoter's token comes from the
    # environment, not from a URL.
    git(clone, "remote", "set-url", "origin", f"{demo.forge.url}/{demo.forge.org}/{config}.git")
    return clone


if __name__ == "__main__":
    main()
