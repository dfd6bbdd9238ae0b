"""All or nothing when a first install's new objects are checked by their schema only.

A schema cannot show a Deployment whose selector does not match its template:
the server refuses it when it is created. Such a set, synced for the first
time, must leave the cluster as it was and fail as a dry-run would have said.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from gitward.config.apps import AppSpec
from gitward.kube import Kube
from gitward.objects import Manifest
from gitward.reconcile import SyncOptions, sync_app
from gitward.source.revisions import Revision
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import SERVICE, ConfigRepo, gitward, one_app, web_deployment

MISMATCHED = web_deployment(selector="web").replace(
    "metadata: {labels: {app: web}}", "metadata: {labels: {app: other}}"
)
KINDS = (
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "ReplicaSet"),
    ("v1", "Pod"),
)


def snapshot(cluster: Cluster, namespace: str) -> dict[str, str]:
    """Every object of ``namespace`` gitward or a controller might touch, by version;
    the CA bundle the controller-manager publishes on its own schedule is left out."""
    return {
        f"{kind}/{o['metadata']['name']}": o["metadata"]["resourceVersion"]
        for api, kind in KINDS
        for o in cluster.list(api, kind, namespace)
        if o["metadata"]["name"] != "kube-root-ca.crt"
    }


def test_a_first_install_the_server_refuses_leaves_the_cluster_as_it_was(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "bystander", "namespace": namespace},
            "data": {"a": "1"},
        }
    )
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace)
    for i in range(5):
        repo.write(f"app/c{i}.yaml", f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n")
    repo.write("app/service.yaml", SERVICE)
    repo.write("app/good.yaml", web_deployment().replace("name: web\n", "name: good\n", 1))
    repo.write("app/web.yaml", MISMATCHED)
    repo.commit("a Deployment whose selector does not match its template")
    before = snapshot(cluster, namespace)
    args = ("sync", app_name, "--repo", repo.url, "--revision", "main")

    dry = gitward(*args, "--dry-run")
    result = gitward(*args)

    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: app {app_name}: Deployment/{namespace}/web")
    assert "`selector` does not match template `labels`" in lines[0]
    assert lines[0].endswith("nothing was applied")
    # What a dry-run of every object says, word for word.
    assert dry.stderr.strip().splitlines() == lines
    assert snapshot(cluster, namespace) == before
    assert cluster.records(app_name) == ["history"]
    history = json.loads(gitward("history", app_name, "-o", "json").stdout)
    assert [(h["result"], h["exitCode"]) for h in history] == [("failed", 2)]
    assert history[0]["message"] == lines[0].removeprefix("error: ")


def test_an_undone_first_install_removes_the_namespace_it_created_and_sends_no_dry_run(
    cluster: Cluster, namespace: str, app_name: str
) -> None:
    fresh = f"{namespace}-new"
    spec = AppSpec(name=app_name, path="app", namespace=fresh, create_namespace=True)
    docs = [
        *(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}}
            for i in range(5)
        ),
        yaml.safe_load(web_deployment()),
        yaml.safe_load(MISMATCHED) | {"metadata": {"name": "bad"}},
    ]
    manifests = tuple(Manifest(body=d, source="app.yaml") for d in docs)

    async def go(kube: Kube) -> tuple[int, str, dict[str, int]]:
        result = await sync_app(
            kube=kube,
            app=spec,
            manifests=manifests,
            revision=Revision(sha="0" * 40),
            options=SyncOptions(),
        )
        return int(result.exit_code), result.reason, kube.stats.snapshot()

    try:
        code, reason, stats = cluster.call(go)
        assert code == 2, reason
        assert f"Deployment/{fresh}/bad" in reason and reason.endswith("nothing was applied")
        assert stats.get("patch-dry-run", 0) == 0, stats
        assert stats.get("patch", 0) >= 7, stats  # the creates happened, and were undone
        assert cluster.get("v1", "Namespace", fresh) is None
        assert cluster.records(app_name) == ["history"]
    finally:
        cluster.delete("v1", "Namespace", fresh)
