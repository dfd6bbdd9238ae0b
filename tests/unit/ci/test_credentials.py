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
