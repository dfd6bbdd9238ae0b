"""Push credentials: from the environment first, then a docker-style config.json."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from gitward.artifacts.credentials import REGISTRY, Credentials, lookup, write_auth_file
from gitward.errors import ConfigError


def test_environment_credentials_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITWARD_REGISTRY_USERNAME", "builder")
    monkeypatch.setenv("GITWARD_REGISTRY_PASSWORD", "pw")
    found = lookup(REGISTRY, "registry.test")
    assert found is not None and (found.username, found.password) == ("builder", "pw")
    assert "pw" not in repr(found)


def test_half_set_environment_credentials_are_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITWARD_REGISTRY_USERNAME", "builder")
    monkeypatch.delenv("GITWARD_REGISTRY_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="set both or neither"):
        lookup(REGISTRY, "registry.test")


def test_docker_config_json_entries_are_read_by_host(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GITWARD_REGISTRY_USERNAME", raising=False)
    monkeypatch.delenv("GITWARD_REGISTRY_PASSWORD", raising=False)
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    auth = base64.b64encode(b"u:p").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"registry.test": {"auth": auth}}}))
    found = lookup(REGISTRY, "registry.test")
    assert found is not None and (found.username, found.password) == ("u", "p")
    assert found.origin == str(tmp_path / "config.json")
    monkeypatch.setenv("HOME", str(tmp_path / "nohome"))
    assert lookup(REGISTRY, "other.test") is None


def test_an_auth_file_for_buildah_is_private_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    write_auth_file(path, {"registry.test": Credentials("u", "p")})
    assert path.stat().st_mode & 0o777 == 0o600
    entry = json.loads(path.read_text())["auths"]["registry.test"]
    assert base64.b64decode(entry["auth"]) == b"u:p"


def test_buildah_and_helm_never_see_push_credentials_or_a_kubeconfig(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gitward.programs import BUILDAH, HELM, MMDEBSTRAP

    monkeypatch.setenv("GITWARD_REGISTRY_PASSWORD", "pw")
    monkeypatch.setenv("GITWARD_CHART_REPO_PASSWORD", "pw2")
    monkeypatch.setenv("KUBECONFIG", "/k")
    for program in (BUILDAH, HELM, MMDEBSTRAP):
        env = program.environment()
        assert not {"GITWARD_REGISTRY_PASSWORD", "GITWARD_CHART_REPO_PASSWORD", "KUBECONFIG"} & set(
            env
        )


def test_the_build_identity_serves_every_store_when_no_store_has_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gitward.artifacts.credentials import CHART_REPO

    for name in ("REGISTRY", "CHART_REPO"):
        monkeypatch.delenv(f"GITWARD_{name}_USERNAME", raising=False)
        monkeypatch.delenv(f"GITWARD_{name}_PASSWORD", raising=False)
    monkeypatch.setenv("GITWARD_BUILD_USER", "builder")
    monkeypatch.setenv("GITWARD_BUILD_TOKEN", "tok")
    found = lookup(CHART_REPO, "127.0.0.1:3000")
    assert found is not None and found.origin == "GITWARD_BUILD_*"
    monkeypatch.setenv("GITWARD_REGISTRY_USERNAME", "other")
    monkeypatch.setenv("GITWARD_REGISTRY_PASSWORD", "pw")
    found = lookup(REGISTRY, "127.0.0.1:3000")
    assert found is not None and found.username == "other"


def test_the_deploy_side_reads_chart_repositories_with_the_deploy_identity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gitward.render.helm.binary import repositories_yaml
    from gitward.render.helm.charts import Dependency

    monkeypatch.setenv("GITWARD_DEPLOY_USER", "deployer")
    monkeypatch.setenv("GITWARD_DEPLOY_TOKEN", "read-tok")
    monkeypatch.delenv("GITWARD_ALLOW_INSECURE", raising=False)
    deps = tuple(
        Dependency(name=f"c{i}", version="1.0.0", repository=url)
        for i, url in enumerate(
            ("http://127.0.0.1:3000/api/packages/o/helm", "http://charts.example.com/x")
        )
    )
    repos = {r["url"]: r for r in json.loads(repositories_yaml(deps))["repositories"]}
    local = repos["http://127.0.0.1:3000/api/packages/o/helm"]
    assert (local["username"], local["password"]) == ("deployer", "read-tok")
    assert "password" not in repos["http://charts.example.com/x"]  # never in cleartext elsewhere


def test_reading_a_chart_takes_the_deploy_identity_then_the_build_identity(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from gitward.artifacts.credentials import read_lookup

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("DEPLOY_USER", "DEPLOY_TOKEN", "BUILD_USER", "BUILD_TOKEN"):
        monkeypatch.delenv(f"GITWARD_{name}", raising=False)
    assert read_lookup("charts.test") is None
    monkeypatch.setenv("GITWARD_BUILD_USER", "builder")
    monkeypatch.setenv("GITWARD_BUILD_TOKEN", "b")
    found = read_lookup("charts.test")
    assert found is not None and (found.username, found.origin) == ("builder", "GITWARD_BUILD_*")
    monkeypatch.setenv("GITWARD_DEPLOY_USER", "deployer")
    monkeypatch.setenv("GITWARD_DEPLOY_TOKEN", "d")
    found = read_lookup("charts.test")
    assert found is not None and (found.username, found.password) == ("deployer", "d")
