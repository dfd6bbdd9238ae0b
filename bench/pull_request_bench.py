"""Pull requests: webhook to preview comment, merge to deploy status, beside a bare forge call.

On a control plane and a Gitea of its own, with one app of ``--objects``
objects (one Deployment, the rest ConfigMaps) and the controller watching
the config repository with previews and deploy statuses on, one run measures:

* preview: from a push to a pull request's branch returning to the preview
  comment naming the new head (the forge's webhook, the controller's
  render and dry-run of the whole app, the comment edit), ``--rounds`` times;
* deploy status: from a merge returning to ``gitward/deploy/<app>`` success
  on the merge commit (webhook, fetch, sync, health), ``--rounds`` times;
* the floor: a bare forge API round trip (reading a commit's statuses), in the
  same run.

Prints a table and writes JSON and Markdown to bench/results/.

    .venv/bin/python bench/pull_request_bench.py [--objects 100] [--rounds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from benchkit import app_objects, control_plane, percentile, start_controller, stop

HERE = Path(__file__).resolve().parent
SECRET = "bench-webhook-secret"
APP = "shop"


def app_files(objects: int, round_: int) -> dict[str, str]:
    deployment, *_ = app_objects(APP, 1)
    files = {"app/web.yaml": yaml.safe_dump(deployment)}
    for i in range(objects - 1):
        cm = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{i:03d}"},
            "data": {"round": str(round_ if i == 0 else 0)},
        }
        files[f"app/cm-{i:03d}.yaml"] = yaml.safe_dump(cm)
    return files


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(values), 3),
        "p95": round(percentile(values, 95), 3),
        "max": round(max(values), 3),
        "n": len(values),
    }


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(cwd), "-c", "user.name=bench", "-c", "user.email=b@b", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def wait_for(check: Any, *args: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check(*args)
        if got:
            return got
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    from gitward.dev import forge as devforge
    from gitward.dev.forge_api import add_webhook

    print("starting a control plane and a forge for the benchmark ...", file=sys.stderr)
    with control_plane("prbench") as plane:
        work = plane.work
        proc: subprocess.Popen[bytes] | None = None
        try:
            forge, _ = devforge.ensure()
            name = f"bench-{int(time.time())}"
            files = {
                "gitward.yaml": yaml.safe_dump(
                    {
                        "apps": [
                            {"name": APP, "path": "app", "namespace": "default", "autoSync": True}
                        ]
                    }
                ),
                **app_files(args.objects, 0),
            }
            forge.create_repo(name, files=files, protect=True, required_approvals=0)
            path = f"{forge.org}/{name}"
            api = httpx.Client(
                base_url=f"{forge.url}/api/v1",
                headers={"Authorization": f"token {forge.reviewer.token}"},
                timeout=30,
            )
            host = forge.url.removeprefix("http://")
            clone = work / "clone"
            who = f"{forge.promoter.user}:{forge.promoter.token}"
            subprocess.run(
                ["git", "clone", "-q", f"http://{who}@{host}/{path}.git", str(clone)], check=True
            )
            env = {
                **os.environ,
                "KUBECONFIG": plane.kubeconfig,
                "GITWARD_CACHE": str(work / "cache"),
                "GITWARD_WEBHOOK_SECRET": SECRET,
                "GITWARD_GIT_TOKEN": forge.deployer.token,
                "GITWARD_GIT_USERNAME": forge.deployer.user,
                "GITWARD_FORGE_TOKEN": forge.reporter.token,
            }
            proc, url = start_controller(
                f"{forge.url}/{path}.git",
                env=env,
                log=work / "controller.log",
                extra=["--forge-url", forge.url],
            )
            wait_for(lambda: _ready(url), timeout=120, what="the controller's first reconcile")
            add_webhook(
                forge.url, forge.admin.token, name, f"{url}/api/v1/webhooks/gitea", SECRET,
                events=("push", "pull_request", "pull_request_sync"),
            )  # fmt: skip

            def comment_names(number: int, sha: str) -> bool:
                got = api.get(f"/repos/{path}/issues/{number}/comments").json()
                return any("gitward:preview" in c["body"] and sha[:12] in c["body"] for c in got)

            def deploy_state(sha: str) -> str:
                got = api.get(f"/repos/{path}/commits/{sha}/status").json()
                for s in got.get("statuses") or []:
                    if s["context"] == f"gitward/deploy/{APP}":
                        return str(s["status"])
                return ""

            def preview_passed(sha: str) -> bool:
                got = api.get(f"/repos/{path}/commits/{sha}/status").json()
                return bool(got.get("state") == "success")

            def merged(number: int) -> httpx.Response | None:
                answer = api.post(f"/repos/{path}/pulls/{number}/merge", json={"Do": "merge"})
                return None if "try again later" in answer.text else answer

            def deployed(sha: str) -> bool:
                return deploy_state(sha) == "success"

            previews: list[float] = []
            deploys: list[float] = []
            floor: list[float] = []
            for round_ in range(1, args.rounds + 1):
                branch = f"change-{round_}"
                git(clone, "fetch", "-q", "origin")
                git(clone, "checkout", "-q", "-B", branch, "origin/main")
                for rel, text in app_files(args.objects, round_).items():
                    (clone / rel).write_text(text)
                git(clone, "commit", "-qam", f"round {round_}")
                git(clone, "push", "-q", "origin", branch)
                pull = api.post(
                    f"/repos/{path}/pulls",
                    json={"head": branch, "base": "main", "title": f"round {round_}"},
                ).json()
                number = pull["number"]
                first = pull["head"]["sha"]
                wait_for(comment_names, number, first, timeout=120, what="first preview")
                # The measured push: one more commit on the pull request's branch.
                (clone / "app" / "cm-000.yaml").write_text(
                    (clone / "app" / "cm-000.yaml")
                    .read_text()
                    .replace(f"'{round_}'", f"'{round_}b'")
                )
                git(clone, "commit", "-qam", f"round {round_} again")
                git(clone, "push", "-q", "origin", branch)
                pushed = time.monotonic()
                head = git(clone, "rev-parse", "HEAD")
                wait_for(comment_names, number, head, timeout=120, what="preview of the push")
                previews.append(time.monotonic() - pushed)
                wait_for(preview_passed, head, timeout=120, what="preview status")
                # Gitea answers "try again later" while it still checks mergeability.
                answer = wait_for(merged, number, timeout=60, what="the merge")
                assert answer.status_code == 200, answer.text
                merged_at_done = time.monotonic()
                sha = api.get(f"/repos/{path}/pulls/{number}").json()["merge_commit_sha"]
                wait_for(deployed, sha, timeout=120, what="deploy status")
                deploys.append(time.monotonic() - merged_at_done)
                t0 = time.monotonic()
                api.get(f"/repos/{path}/commits/{sha}/status").raise_for_status()
                floor.append(time.monotonic() - t0)
                print(
                    f"round {round_}: preview {previews[-1]:.2f}s, deploy {deploys[-1]:.2f}s",
                    file=sys.stderr,
                )
        finally:
            stop(proc)

    result = {
        "cores": os.cpu_count(),
        "objects": args.objects,
        "rounds": args.rounds,
        "push_to_preview_comment_seconds": summary(previews),
        "merge_to_deploy_status_seconds": summary(deploys),
        "bare_forge_round_trip_seconds": summary(floor),
    }
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = HERE / "results" / f"pull-requests-{stamp}"
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        f"# pull request benchmark: one app of {args.objects} objects, {args.rounds} rounds, "
        f"{os.cpu_count()} cores",
        "",
        "| measure | p50 | p95 | max | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, target in (
        ("push_to_preview_comment_seconds", "p95 < 3 s"),
        ("merge_to_deploy_status_seconds", "p95 < 5 s"),
        ("bare_forge_round_trip_seconds", "(floor)"),
    ):
        s = result[key]
        assert isinstance(s, dict)
        lines.append(f"| {key} | {s['p50']} | {s['p95']} | {s['max']} | {target} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
