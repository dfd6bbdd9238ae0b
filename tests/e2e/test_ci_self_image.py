"""gitward's own image, built by ``gitward ci`` from this repository like any code repository."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitward.artifacts.buildah import Buildah
from gitward.dev import baseimage
from gitward.tools import find_tool
from tests.e2e.cihelpers import LocalRegistry, gitward_ci, local_registry
from tests.e2e.helpers import REPO_ROOT, run_git

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    with local_registry(tmp_path_factory.mktemp("registry")) as reg:
        yield reg


def buildah_run(buildah: Buildah, image: str, *command: str) -> str:
    container = subprocess.run(
        buildah.argv("from", "--quiet", "--pull-never", image),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    try:
        proc = subprocess.run(
            buildah.argv("run", "--isolation", buildah.isolation, container, "--", *command),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout
    finally:
        subprocess.run(buildah.argv("rm", container), capture_output=True, check=False)


def test_gitward_ci_builds_gitwards_own_image_which_runs_gitward(
    tmp_path: Path, registry: LocalRegistry
) -> None:
    clone = tmp_path / "gitward"
    run_git(tmp_path, "clone", "-q", "--no-hardlinks", str(REPO_ROOT), str(clone))
    run = gitward_ci(
        clone,
        "-o",
        "json",
        env={
            "GITWARD_REGISTRY": registry.host,
            "GITWARD_BASE_IMAGE": baseimage.seed(registry.host).reference,
            "GITWARD_HELM_DIR": str(find_tool("helm").parent),
            "GITWARD_CHART_REPO": "",
            "GITWARD_REGISTRY_USERNAME": "",
            "GITWARD_REGISTRY_PASSWORD": "",
            "GITWARD_BUILD_USER": "",
            "GITWARD_BUILD_TOKEN": "",
        },
    )
    assert run.code == 0, run.stderr
    record = run.record
    assert record["image"].startswith(f"{registry.host}/gitward:")
    assert record["chart"]["oci"].startswith(f"oci://{registry.host}/charts/gitward:")
    image = record["image"].split("@")[0]
    buildah = Buildah.from_environment()
    assert "gitward, version" in buildah_run(buildah, image, "gitward", "--version")
    assert "--repo" in buildah_run(buildah, image, "gitward", "controller", "--help")
    assert "v4." in buildah_run(buildah, image, "helm", "version", "--short")
