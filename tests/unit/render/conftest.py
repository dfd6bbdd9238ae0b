from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitward.errors import ToolError
from gitward.tools import find_tool

from .helpers import (
    DOCKER_REGISTRY,
    ChartRepo,
    HelmCli,
    OciRegistry,
    run_oci_registry,
    serve_chart_repo,
)


def _tool(name: str) -> Path | None:
    try:
        path = find_tool(name)
    except ToolError:
        return None
    return path if path.exists() else None


# Resolved once, before any test points GITWARD_CACHE elsewhere (the pinned
# builds live under the real cache root).
HELM = _tool("helm")
KUBECTL = _tool("kubectl")
SOPS = _tool("sops")
AGE_KEYGEN = _tool("age-keygen")


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own gitward cache (helm homes, chart and render caches)."""
    if HELM is not None:
        monkeypatch.setenv("GITWARD_HELM", str(HELM))
    if KUBECTL is not None:
        monkeypatch.setenv("GITWARD_KUBECTL", str(KUBECTL))
    for variable, path in (("GITWARD_SOPS", SOPS), ("GITWARD_AGE_KEYGEN", AGE_KEYGEN)):
        if path is not None:
            monkeypatch.setenv(variable, str(path))
    cache = tmp_path / "gitward-cache"
    monkeypatch.setenv("GITWARD_CACHE", str(cache))
    return cache


@pytest.fixture
def helm_cli(tmp_path: Path) -> HelmCli:
    if HELM is None:
        pytest.skip("helm not found: run tools/build.sh or put helm on PATH")
    return HelmCli(binary=HELM, home=tmp_path / "helm-cli")


@pytest.fixture
def kubectl() -> Path:
    if KUBECTL is None:
        pytest.skip("kubectl not found: run tools/build.sh or put kubectl on PATH")
    return KUBECTL


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The checkout of a config repository."""
    path = tmp_path / "repo"
    path.mkdir()
    return path


@pytest.fixture
def chart_repo(tmp_path: Path, helm_cli: HelmCli) -> Iterator[ChartRepo]:
    with serve_chart_repo(tmp_path / "chart-repo", helm_cli) as repo:
        yield repo


@pytest.fixture
def oci_registry(tmp_path: Path, helm_cli: HelmCli) -> Iterator[OciRegistry]:
    if not DOCKER_REGISTRY.exists():
        pytest.skip(f"{DOCKER_REGISTRY} not installed (Debian package docker-registry)")
    with run_oci_registry(tmp_path / "registry", helm_cli) as registry:
        yield registry
