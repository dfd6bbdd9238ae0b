"""The article's umbrella-chart flow on the real control plane: deploy, promote, prune."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import Cluster
from tests.e2e.helpers import EXAMPLE_CHARTS, ConfigRepo, gitward


def umbrella(oci: str, *, web: str = "0.1.0", worker: bool = True) -> dict[str, object]:
    deps: list[dict[str, str]] = [{"name": "web", "version": web, "repository": oci}]
    if worker:
        deps.append(
            {
                "name": "worker",
                "alias": "jobs",
                "version": "0.1.0",
                "repository": "file://../../charts/worker",
            }
        )
    return {"apiVersion": "v2", "name": "shop", "version": "1.0.0", "dependencies": deps}


@pytest.fixture
def shop(
    tmp_path: Path, git_env: dict[str, str], oci_charts: str, namespace: str, app_name: str
) -> ConfigRepo:
    repo = ConfigRepo(tmp_path / "config")
    repo.write(
        "gitward.yaml",
        {
            "apps": [
                {
                    "name": app_name,
                    "path": "apps/shop",
                    "namespace": namespace,
                    "releaseName": "shop",
                }
            ]
        },
    )
    repo.write("charts/worker/Chart.yaml", (EXAMPLE_CHARTS / "worker" / "Chart.yaml").read_text())
    repo.write("charts/worker/values.yaml", (EXAMPLE_CHARTS / "worker" / "values.yaml").read_text())
    repo.write(
        "charts/worker/templates/deployment.yaml",
        (EXAMPLE_CHARTS / "worker" / "templates" / "deployment.yaml").read_text(),
    )
    repo.write("apps/shop/Chart.yaml", umbrella(oci_charts))
    repo.write("apps/shop/web.yaml", "replicas: 2\ngreeting: hello from the config repo\n")
    repo.write("apps/shop/jobs.yaml", "queue: invoices\n")
    repo.lock("apps/shop")
    repo.commit("Deploy shop")
    return repo


def sync(repo: ConfigRepo, *args: str) -> dict[str, object]:
    result = gitward("sync", *args, "--repo", repo.url, "--revision", "main", "-o", "json")
    assert result.returncode == 0, result.stderr
    out: dict[str, object] = json.loads(result.stdout)
    return out


def test_umbrella_pulls_oci_and_file_charts_and_values_files_reach_their_subcharts(
    cluster: Cluster, shop: ConfigRepo, namespace: str, app_name: str
) -> None:
    sync(shop, app_name, "--wait", "--timeout", "120")

    web = cluster.get("apps/v1", "Deployment", "shop-web", namespace)
    assert web is not None, "the OCI chart was not deployed"
    assert web["spec"]["replicas"] == 2
    assert web["status"]["readyReplicas"] == 2
    cm = cluster.get("v1", "ConfigMap", "shop-web", namespace)
    assert cm is not None and cm["data"]["GREETING"] == "hello from the config repo"
    worker = cluster.get("apps/v1", "Deployment", "shop-worker", namespace)
    assert worker is not None, "the file:// chart under its alias was not deployed"
    env = worker["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "QUEUE", "value": "invoices"} in env, (
        "jobs.yaml did not reach the aliased chart"
    )


def test_chart_version_bump_rolls_the_deployment_to_a_new_ready_replicaset(
    cluster: Cluster, shop: ConfigRepo, namespace: str, app_name: str, oci_charts: str
) -> None:
    sync(shop, app_name, "--wait", "--timeout", "120")
    shop.write("apps/shop/Chart.yaml", umbrella(oci_charts, web="0.2.0"))
    shop.lock("apps/shop")
    shop.commit("Promote web to 0.2.0")

    diff = gitward("diff", app_name, "--repo", shop.url, "--revision", "main")
    assert diff.returncode == 1, diff.stderr
    assert "+        image: registry.example.com/shop/web:0.2.0" in diff.stdout

    out = sync(shop, app_name, "--wait", "--timeout", "120")
    changes = {c["object"]: c["outcome"] for c in out["changes"]}  # type: ignore[attr-defined]
    assert changes[f"Deployment/{namespace}/shop-web"] == "configured"
    assert changes[f"Deployment/{namespace}/shop-worker"] == "unchanged"

    sets = cluster.list("apps/v1", "ReplicaSet", namespace)
    web_sets = [rs for rs in sets if rs["metadata"]["name"].startswith("shop-web-")]
    assert len(web_sets) == 2
    new = next(
        rs
        for rs in web_sets
        if rs["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":0.2.0")
    )
    assert new["status"].get("readyReplicas") == 2


def test_removed_chart_is_pruned_and_a_hand_made_object_survives(
    cluster: Cluster, shop: ConfigRepo, namespace: str, app_name: str, oci_charts: str
) -> None:
    sync(shop, app_name, "--wait", "--timeout", "120")
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "made-by-hand", "namespace": namespace},
            "data": {"x": "y"},
        },
        field_manager="kubectl",
    )
    shop.write("apps/shop/Chart.yaml", umbrella(oci_charts, worker=False))
    shop.remove("apps/shop/jobs.yaml")
    shop.lock("apps/shop")
    shop.commit("Remove the worker")

    out = sync(shop, app_name)
    changes = {c["object"]: c["outcome"] for c in out["changes"]}  # type: ignore[attr-defined]
    assert changes[f"Deployment/{namespace}/shop-worker"] == "pruned"
    assert cluster.get("apps/v1", "Deployment", "shop-worker", namespace) is None
    assert cluster.get("apps/v1", "Deployment", "shop-web", namespace) is not None
    assert cluster.get("v1", "ConfigMap", "made-by-hand", namespace) is not None

    history = json.loads(gitward("history", app_name, "-o", "json").stdout)
    assert [h["subject"] for h in history] == ["Remove the worker", "Deploy shop"]
    assert history[0]["counts"]["pruned"] == 1
    assert history[0]["author"] == "Ada Lovelace <ada@example.com>"
