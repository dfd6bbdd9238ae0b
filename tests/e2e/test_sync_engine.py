"""Engine guarantees on the real control plane: no-op syncs, ordering, CRDs, hooks, crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gitward.config.loader import load_repo_config
from gitward.kube import Kube
from gitward.reconcile import SyncOptions, SyncResult, sync_app
from gitward.render import render_app
from gitward.source.revisions import Revision
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import SERVICE, ConfigRepo, gitward, one_app, run_git, web_deployment


def configmaps(n: int, prefix: str) -> str:
    return "".join(
        "---\napiVersion: v1\nkind: ConfigMap\n"
        f"metadata:\n  name: {prefix}-{i}\ndata:\n  i: '{i}'\n"
        for i in range(n)
    )


DEPLOYMENT = web_deployment() + "---\n" + SERVICE


def sync_in_process(
    cluster: Cluster, repo: ConfigRepo, app: str
) -> tuple[SyncResult, dict[str, int]]:
    config = load_repo_config(repo.path)
    spec = config.app(app)
    assert spec is not None
    rendered = render_app(app=spec, root=repo.path)

    async def go(kube: Kube) -> tuple[SyncResult, dict[str, int]]:
        result = await sync_app(
            kube=kube,
            app=spec,
            manifests=rendered.manifests,
            revision=Revision(sha=run_git(repo.path, "rev-parse", "HEAD")),
            options=SyncOptions(),
        )
        return result, kube.stats.snapshot()

    return cluster.call(go)


def resource_versions(cluster: Cluster, namespace: str) -> dict[str, str]:
    out = {}
    for api, kind in (("v1", "ConfigMap"), ("apps/v1", "Deployment"), ("v1", "Service")):
        for o in cluster.list(api, kind, namespace):
            out[f"{kind}/{o['metadata']['name']}"] = o["metadata"]["resourceVersion"]
    return out


def test_second_sync_of_an_unchanged_revision_makes_no_write_requests(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    repo.write("app/objects.yaml", DEPLOYMENT + configmaps(20, "cm"))
    repo.commit("objects")

    first, first_stats = sync_in_process(cluster, repo, app_name)
    assert first.changes is not None and first.changes.count(first.changes.changes[0].outcome) > 0
    assert first_stats.get("patch", 0) >= 22
    cluster.wait_for(
        lambda: (
            (cluster.get("apps/v1", "Deployment", "web", namespace) or {})
            .get("status", {})
            .get("readyReplicas")
            == 2
        ),
        what="web ready",
    )
    before = resource_versions(cluster, namespace)
    inventory_before = cluster.get("v1", "ConfigMap", f"gitward-app-{app_name}", "gitward-system")

    second, stats = sync_in_process(cluster, repo, app_name)

    assert second.changes is not None and not second.changes.wrote
    assert not second.recorded
    writes = {v: n for v, n in stats.items() if v in ("patch", "create", "update", "delete")}
    assert writes == {}, f"a no-op sync wrote: {stats}"
    assert stats.get("patch-dry-run", 0) == 0, "unchanged objects were proven by the inventory"
    assert resource_versions(cluster, namespace) == before
    inventory_after = cluster.get("v1", "ConfigMap", f"gitward-app-{app_name}", "gitward-system")
    assert inventory_before and inventory_after
    assert (
        inventory_after["metadata"]["resourceVersion"]
        == inventory_before["metadata"]["resourceVersion"]
    )


def test_depends_on_syncs_the_dependency_first(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    first, second = f"{app_name}-app", f"{app_name}-infra"
    repo.write(
        "gitward.yaml",
        {
            "apps": [
                {"name": first, "path": "app", "namespace": namespace, "dependsOn": [second]},
                {"name": second, "path": "infra", "namespace": namespace},
            ]
        },
    )
    repo.write("infra/cm.yaml", configmaps(1, "infra"))
    repo.write("app/cm.yaml", configmaps(1, "app"))
    repo.commit("two apps")
    result = gitward("sync", "--repo", repo.url, "--revision", "main", "-o", "json", "--wait")
    try:
        assert result.returncode == 0, result.stderr
        assert [r["app"] for r in json.loads(result.stdout)] == [second, first]
        infra = cluster.get("v1", "ConfigMap", "infra-0", namespace)
        app = cluster.get("v1", "ConfigMap", "app-0", namespace)
        assert infra and app
        assert int(infra["metadata"]["resourceVersion"]) < int(app["metadata"]["resourceVersion"])
    finally:
        cluster.forget_apps(first, second)


CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.e2e.gitward.io
spec:
  group: e2e.gitward.io
  scope: Namespaced
  names: {{plural: {plural}, singular: {singular}, kind: {kind}, listKind: {kind}List}}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {{type: integer}}
"""


def test_a_crd_and_its_custom_resource_apply_in_one_sync(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    suffix = namespace.replace("-", "")
    kind, plural = f"Widget{suffix}", f"widgets{suffix}"
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    # The custom resource sorts first by file name; order must come from the engine.
    repo.write(
        "app/a-widget.yaml",
        f"apiVersion: e2e.gitward.io/v1\nkind: {kind}\n"
        "metadata:\n  name: small\nspec:\n  size: 1\n",
    )
    repo.write("app/b-crd.yaml", CRD.format(plural=plural, singular=f"widget{suffix}", kind=kind))
    repo.commit("crd and cr")
    try:
        result = gitward("sync", app_name, "--repo", repo.url, "--revision", "main", "-o", "json")
        assert result.returncode == 0, result.stderr
        outcomes = [c["outcome"] for c in json.loads(result.stdout)["changes"]]
        assert outcomes == ["created", "created"]
        widget = cluster.get("e2e.gitward.io/v1", kind, "small", namespace)
        assert widget is not None and widget["spec"]["size"] == 1
    finally:
        cluster.delete(
            "apiextensions.k8s.io/v1", "CustomResourceDefinition", f"{plural}.e2e.gitward.io"
        )


HOOKED_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: hooked\nversion: 0.1.0\n",
    "templates/migrate.yaml": """\
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: example.com/migrate:1}]
""",
    "templates/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  replicas: 1
  selector: {matchLabels: {app: hooked}}
  template:
    metadata: {labels: {app: hooked}}
    spec:
      containers: [{name: app, image: example.com/app:1}]
""",
}


def test_pre_install_hook_job_completes_before_the_deployment_is_created(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    for rel, text in HOOKED_CHART.items():
        repo.write(f"app/{rel}", text)
    repo.commit("hooked chart")
    result = gitward("sync", app_name, "--repo", repo.url, "--revision", "main", "-o", "json")
    assert result.returncode == 0, result.stderr
    changes = json.loads(result.stdout)["changes"]
    assert [(c["object"], c["outcome"]) for c in changes] == [
        (f"Job/{namespace}/migrate", "hook-succeeded"),
        (f"Deployment/{namespace}/app", "created"),
    ]
    job = cluster.get("batch/v1", "Job", "migrate", namespace)
    deploy = cluster.get("apps/v1", "Deployment", "app", namespace)
    assert job and deploy
    complete = next(c for c in job["status"]["conditions"] if c["type"] == "Complete")
    assert complete["lastTransitionTime"] <= deploy["metadata"]["creationTimestamp"]
    assert int(job["metadata"]["resourceVersion"]) < int(deploy["metadata"]["resourceVersion"])
    inventory = gitward("status", app_name, "--repo", repo.url, "--revision", "main", "-o", "json")
    objects = [o["object"] for o in json.loads(inventory.stdout)["objects"]]
    assert objects == [f"Deployment/{namespace}/app"], "hooks are not part of the app's objects"


def test_a_sync_killed_mid_apply_is_completed_by_the_next_without_orphans_or_duplicates(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    repo.write("app/objects.yaml", configmaps(10, "old"))
    repo.commit("old set")
    assert gitward("sync", app_name, "--repo", repo.url, "--revision", "main").returncode == 0
    repo.write("app/objects.yaml", configmaps(150, "new"))
    repo.commit("new set")

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gitward",
            "sync",
            app_name,
            "--repo",
            repo.url,
            "--revision",
            "main",
            "--concurrency",
            "1",
        ],
        env=os.environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def created() -> int:
        return sum(
            1
            for c in cluster.list("v1", "ConfigMap", namespace)
            if c["metadata"]["name"].startswith("new-")
        )

    deadline = time.monotonic() + 60
    while created() < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = created()
    assert 0 < partial < 150, f"the kill did not land mid-apply ({partial} of 150 created)"

    result = gitward("sync", app_name, "--repo", repo.url, "--revision", "main", "-o", "json")
    assert result.returncode == 0, result.stderr
    names = sorted(c["metadata"]["name"] for c in cluster.list("v1", "ConfigMap", namespace))
    expected = sorted([f"new-{i}" for i in range(150)] + ["kube-root-ca.crt"])
    assert names == expected, "old objects must be pruned and new ones exist exactly once"
    status = gitward("status", app_name, "--repo", repo.url, "--revision", "main", "-o", "json")
    assert status.returncode == 0, status.stdout
    assert len(json.loads(status.stdout)["objects"]) == 150
