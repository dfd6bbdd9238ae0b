"""Ignore rules, immutable fields, Secrets and health waits on the real control plane."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e import helpers
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import gitward, repo_with, web_deployment


def kubectl(cluster: Cluster, *args: str) -> None:
    helpers.kubectl(cluster.dev.kubeconfig, *args)


def test_ignored_replicas_survive_diff_and_sync_while_other_changes_apply(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    ignore = [{"kind": "Deployment", "name": "web", "jsonPointers": ["/spec/replicas"]}]
    repo = repo_with(
        tmp_path,
        app_name,
        namespace,
        {"web.yaml": web_deployment()},
        ignore=ignore,
    )
    args = ("--repo", repo.url, "--revision", "main")
    assert gitward("sync", app_name, *args).returncode == 0
    kubectl(cluster, "scale", "deployment/web", "-n", namespace, "--replicas=5")

    diff = gitward("diff", app_name, *args)
    assert diff.returncode == 0, diff.stdout

    repo.write("app/web.yaml", web_deployment(tag="2"))
    repo.commit("new image")
    diff = gitward("diff", app_name, *args)
    assert diff.returncode == 1
    assert "replicas" not in diff.stdout and "example.com/web:2" in diff.stdout
    result = gitward("sync", app_name, *args)
    assert result.returncode == 0, result.stderr
    web = cluster.get("apps/v1", "Deployment", "web", namespace)
    assert web is not None
    assert web["spec"]["replicas"] == 5, "the ignored field was reset by apply"
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "example.com/web:2"


def test_an_immutable_change_fails_unless_the_object_asks_to_be_recreated(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = repo_with(tmp_path, app_name, namespace, {"web.yaml": web_deployment()})
    args = ("--repo", repo.url, "--revision", "main")
    assert gitward("sync", app_name, *args).returncode == 0
    uid = (cluster.get("apps/v1", "Deployment", "web", namespace) or {})["metadata"]["uid"]

    repo.write("app/web.yaml", web_deployment(selector="web2"))
    repo.commit("change the selector")
    refused = gitward("sync", app_name, *args)
    assert refused.returncode == 2
    assert "immutable" in refused.stderr and "gitward.io/recreate" in refused.stderr
    assert (cluster.get("apps/v1", "Deployment", "web", namespace) or {})["metadata"]["uid"] == uid

    recreate = web_deployment(selector="web2").replace(
        "  name: web\n", "  name: web\n  annotations: {gitward.io/recreate: 'true'}\n", 1
    )
    repo.write("app/web.yaml", recreate)
    repo.commit("allow recreation")
    result = gitward("sync", app_name, *args, "-o", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["changes"][0]["outcome"] == "recreated"
    web = cluster.get("apps/v1", "Deployment", "web", namespace)
    assert web is not None and web["metadata"]["uid"] != uid
    assert web["spec"]["selector"]["matchLabels"] == {"app": "web2"}


def test_secret_values_never_appear_in_a_diff(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: {}\n"
    repo = repo_with(tmp_path, app_name, namespace, {"secret.yaml": secret.format("hunter2")})
    args = ("--repo", repo.url, "--revision", "main")
    first = gitward("diff", app_name, *args)
    assert "hunter2" not in first.stdout and "aHVudGVyMg" not in first.stdout
    assert gitward("sync", app_name, *args).returncode == 0
    repo.write("app/secret.yaml", secret.format("correct-horse"))
    repo.commit("rotate")
    diff = gitward("diff", app_name, *args, "-o", "json")
    assert diff.returncode == 1
    for leaked in ("hunter2", "correct-horse", "aHVudGVyMg", "Y29ycmVjdC1ob3JzZQ"):
        assert leaked not in diff.stdout
    assert "<masked> (new)" in diff.stdout


def test_wait_fails_fast_naming_the_degraded_object_and_why(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    stuck = (
        web_deployment()
        .replace(
            "spec:\n  replicas: 2\n", "spec:\n  replicas: 2\n  progressDeadlineSeconds: 1\n", 1
        )
        .replace("    spec:\n", "    spec:\n      nodeSelector: {no-such-node: 'true'}\n", 1)
    )
    repo = repo_with(tmp_path, app_name, namespace, {"web.yaml": stuck})
    result = gitward(
        "sync", app_name, "--repo", repo.url, "--revision", "main", "--wait", "--timeout", "120"
    )
    assert result.returncode == 4, result.stderr
    line = result.stderr.strip().splitlines()[-1]  # progress lines may come before
    assert line.startswith("error: ")
    assert f"Deployment/{namespace}/web: Degraded" in line
    assert "progress deadline" in line.lower() or "ProgressDeadlineExceeded" in line


def test_wait_reports_progress_and_a_timeout_names_every_object_not_healthy(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    def unschedulable(name: str) -> str:
        return (
            web_deployment(selector=name)
            .replace("name: web", f"name: {name}", 1)
            .replace("    spec:\n", "    spec:\n      nodeSelector: {no-such-node: 'true'}\n", 1)
        )

    repo = repo_with(
        tmp_path, app_name, namespace, {"a.yaml": unschedulable("a"), "b.yaml": unschedulable("b")}
    )
    result = gitward(
        "sync", app_name, "--repo", repo.url, "--revision", "main", "--wait", "--timeout", "11"
    )
    assert result.returncode == 4, result.stderr
    lines = result.stderr.strip().splitlines()
    progress = [line for line in lines if "waiting for" in line]
    assert progress, lines  # not a terminal: one line every 10 s
    assert f"Deployment/{namespace}/a (Progressing" in progress[0]
    error = lines[-1]
    assert "not Healthy after 11s" in error
    assert f"Deployment/{namespace}/a: Progressing" in error
    assert f"Deployment/{namespace}/b: Progressing" in error
