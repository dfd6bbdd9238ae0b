"""The build side against the real stores: Gitea's OCI registry and its ChartMuseum-API
chart repository, with read and write enforced per token, and the two trust zones.

* the build identity (``write:package``) publishes the image and the chart;
* the deploy identity (``read:package``) cannot push an image or a chart;
* the build identity has no credential the API server accepts;
* a sync reads the published chart with the deploy identity.
"""

from __future__ import annotations

import io
import random
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gitward.artifacts.chartmuseum import ChartRepository
from gitward.artifacts.credentials import Credentials
from gitward.artifacts.errors import StoreRefused
from gitward.tools import find_tool
from tests.e2e.cihelpers import ci_env, code_repo, gitward_ci, remove_images
from tests.e2e.conftest import Cluster
from tests.e2e.forgekit import Forge
from tests.e2e.helpers import ConfigRepo, gitward
from tests.unit.ci.fakestores import make_chart

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def published(
    forge: Forge, cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The example app published once by the build identity: its build record."""
    tmp = tmp_path_factory.mktemp("published")
    # A version of its own: the forge keeps what earlier runs published.
    repo = code_repo(tmp / "hello", tag=f"v1.{random.randrange(10**6)}.0")
    run = gitward_ci(repo, "-o", "json", env=ci_env(forge, cluster, forge.builder, tmp))
    assert run.code == 0, run.stderr
    assert forge.builder.token not in run.stdout + run.stderr
    record: dict[str, Any] = run.record
    record["repo"] = str(repo)
    yield record
    remove_images(f"{forge.registry}/")


def values_of(tgz: bytes) -> dict[str, Any]:
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        member = tar.extractfile("hello/values.yaml")
        assert member is not None
        doc: dict[str, Any] = yaml.safe_load(member.read())
        return doc


def test_the_build_identity_publishes_the_image_and_the_chart_to_both_stores(
    forge: Forge, published: dict[str, Any]
) -> None:
    version = published["version"]
    prefix = f"{forge.registry}/{forge.dev.org}/hello:{version}@sha256:"
    assert published["image"].startswith(prefix)
    chart = published["chart"]
    assert chart["oci"] == f"oci://{forge.registry}/{forge.dev.org}/charts/hello:{version}"
    assert chart["repository"] == forge.chart_repo
    assert chart["url"].endswith(f"hello-{version}.tgz")
    # The chart repository serves it, to the read-only identity too, with the image's digest.
    tgz = httpx.get(chart["url"], auth=(forge.deployer.user, forge.deployer.token)).content
    digest = published["image"].split("@")[1]
    assert values_of(tgz)["image"]["digest"] == digest


def test_a_second_run_publishes_nothing_to_either_store(
    forge: Forge, cluster: Cluster, published: dict[str, Any], tmp_path: Path
) -> None:
    run = gitward_ci(
        Path(published["repo"]), "-o", "json", env=ci_env(forge, cluster, forge.builder, tmp_path)
    )
    assert run.code == 0, run.stderr
    changed = {s["name"]: s["changed"] for s in run.record["steps"]}
    for step in ("build", "push-image", "publish-oci", "publish-repository"):
        assert changed[step] is False, run.stderr
    assert {name for name, c in changed.items() if c} <= {"version", "lint", "package"}
    assert run.record["chart"]["digest"] == published["chart"]["digest"]


def test_the_deploy_identity_cannot_push_an_image(
    forge: Forge, cluster: Cluster, tmp_path: Path
) -> None:
    version = f"9.{random.randrange(10**6)}.0"
    repo = code_repo(tmp_path / "hello", tag=f"v{version}")
    run = gitward_ci(repo, env=ci_env(forge, cluster, forge.deployer, tmp_path))
    assert run.code == 3, run.stderr
    assert len(run.errors) == 1
    assert run.errors[0].startswith(f"error: registry {forge.registry}: ")
    assert forge.deployer.token not in run.stdout + run.stderr
    # Nothing reached the registry: the build identity finds no such tag.
    token = forge.registry_token(forge.builder, f"{forge.dev.org}/hello", "pull").json()["token"]
    answer = httpx.get(
        f"http://{forge.registry}/v2/{forge.dev.org}/hello/manifests/{version}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 404


def test_the_deploy_identity_cannot_upload_a_chart(forge: Forge) -> None:
    deployer = Credentials(forge.deployer.user, forge.deployer.token, origin="test")
    with ChartRepository(forge.chart_repo, credentials=deployer) as repo:
        with pytest.raises(StoreRefused, match=rf"^chart repository {forge.chart_repo}: refused"):
            repo.publish(name="denied", version="1.0.0", tgz=make_chart("denied"))
        assert repo.entry_url("denied", "1.0.0") is None


def test_the_build_identity_has_no_credential_the_api_server_accepts(
    forge: Forge, cluster: Cluster
) -> None:
    for headers in (
        {"Authorization": f"Bearer {forge.builder.token}"},
        {"Authorization": "Basic " + Credentials(forge.builder.user, forge.builder.token).basic()},
    ):
        answer = httpx.get(
            f"{cluster.dev.apiserver}/api/v1/namespaces", headers=headers, verify=False
        )
        # Refused outright, or taken for nobody at all (the API server ignores Basic).
        assert answer.status_code == 401 or (
            answer.status_code == 403 and "system:anonymous" in answer.text
        ), answer.text


def test_a_sync_reads_the_published_chart_with_the_read_only_identity(
    forge: Forge,
    cluster: Cluster,
    published: dict[str, Any],
    tmp_path: Path,
    git_env: dict[str, str],
    namespace: str,
    app_name: str,
) -> None:
    repo = ConfigRepo(tmp_path / "config")
    repo.write(
        "gitward.yaml",
        {"apps": [{"name": app_name, "path": "apps/hello", "namespace": namespace}]},
    )
    repo.write(
        "apps/hello/Chart.yaml",
        {
            "apiVersion": "v2",
            "name": "hello-app",
            "version": "1.0.0",
            "dependencies": [
                {"name": "hello", "version": published["version"], "repository": forge.chart_repo}
            ],
        },
    )
    repo.commit("Deploy hello")
    base = {
        # A cache of its own, so the chart really comes from the chart repository.
        "GITWARD_CACHE": str(tmp_path / "cache"),
        "GITWARD_HELM": str(find_tool("helm")),
        "GITWARD_KUBECTL": str(find_tool("kubectl")),
        "GITWARD_BUILD_USER": "",
        "GITWARD_BUILD_TOKEN": "",
        "DOCKER_CONFIG": str(tmp_path / "docker"),
    }
    anonymous = gitward(
        "sync",
        app_name,
        "--repo",
        str(repo.path),
        env={**base, "GITWARD_DEPLOY_USER": "", "GITWARD_DEPLOY_TOKEN": ""},
    )
    assert anonymous.returncode == 2, anonymous.stderr
    assert "401" in anonymous.stderr or "unauthorized" in anonymous.stderr.lower()
    synced = gitward(
        "sync",
        app_name,
        "--repo",
        str(repo.path),
        env={
            **base,
            "GITWARD_DEPLOY_USER": forge.deployer.user,
            "GITWARD_DEPLOY_TOKEN": forge.deployer.token,
        },
    )
    assert synced.returncode == 0, synced.stderr
    assert forge.deployer.token not in synced.stdout + synced.stderr
    deployment = cluster.get("apps/v1", "Deployment", f"{app_name}-hello", namespace)
    assert deployment is not None
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == published["image"]
    # The deploy side traces the running chart back to its code commit.
    history = gitward("history", app_name, "-o", "json", env=base)
    assert history.returncode == 0, history.stderr
    assert f"hello@{published['version']} (commit {published['commit'][:12]})" in history.stdout
