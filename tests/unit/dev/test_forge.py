"""The dev forge's configuration, its record in the state file, and its variables."""

from __future__ import annotations

import configparser
import os
import stat
from pathlib import Path

import pytest

from gitward.dev import forge, forge_config, state
from gitward.dev.forge_api import Identity


def a_forge(pid: int = 1) -> forge.Forge:
    def ident(user: str) -> Identity:
        return Identity(user, f"token-of-{user}", ("read:package",))

    return forge.Forge(
        url="http://127.0.0.1:16447",
        port=16447,
        pid=pid,
        work_dir="/state/forge",
        admin=ident("gitward-admin"),
        builder=ident("builder"),
        deployer=ident("deployer"),
        promoter=ident("promoter"),
        reviewer=ident("reviewer"),
        reporter=ident("reporter"),
    )


def test_the_forge_names_each_identity_and_store_with_the_documented_variables() -> None:
    env = a_forge().env()
    assert env == {
        "GITWARD_FORGE_URL": "http://127.0.0.1:16447",
        "GITWARD_FORGE_TOKEN_ADMIN": "token-of-gitward-admin",
        "GITWARD_FORGE_TOKEN_DEPLOYER": "token-of-deployer",
        "GITWARD_FORGE_TOKEN_PROMOTER": "token-of-promoter",
        "GITWARD_FORGE_TOKEN_REVIEWER": "token-of-reviewer",
        "GITWARD_FORGE_TOKEN_REPORTER": "token-of-reporter",
        "GITWARD_BUILD_REGISTRY": "127.0.0.1:16447",
        "GITWARD_BUILD_USER": "builder",
        "GITWARD_BUILD_TOKEN": "token-of-builder",
        "GITWARD_DEPLOY_USER": "deployer",
        "GITWARD_DEPLOY_TOKEN": "token-of-deployer",
        "GITWARD_CHART_REPO": "http://127.0.0.1:16447/api/packages/gitward/helm",
    }


def test_an_identity_never_shows_its_token_in_its_repr() -> None:
    assert "token-of" not in repr(a_forge())


def test_the_forge_is_read_back_from_the_state_file_only_while_its_process_lives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITWARD_STATE", str(tmp_path))
    alive = a_forge(pid=os.getpid())
    state.write({"ports": {}, "forge": alive.to_doc()})
    assert forge.current() == alive

    state.write({"ports": {}, "forge": a_forge(pid=2**22 + 1).to_doc()})
    assert forge.current() is None


def test_the_state_file_is_readable_by_its_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITWARD_STATE", str(tmp_path / "new"))
    state.write({"forge": a_forge().to_doc()})
    assert stat.S_IMODE(state.state_file().stat().st_mode) == 0o600
    doc = state.read()
    assert doc is not None and forge.Forge.from_doc(doc["forge"]) == a_forge()


def test_the_gitea_config_listens_on_loopback_and_keeps_the_forge_closed(tmp_path: Path) -> None:
    config = tmp_path / "app.ini"
    forge_config.write_config(config, work=tmp_path, port=16447, static_root=tmp_path / "static")
    ini = configparser.ConfigParser(interpolation=None)
    ini.read_string("[root]\n" + config.read_text())
    assert ini["root"]["I_AM_BEING_UNSAFE_RUNNING_AS_ROOT"] == "true"
    assert ini["server"]["HTTP_ADDR"] == "127.0.0.1"
    assert ini["server"]["HTTP_PORT"] == "16447"
    assert ini["server"]["OFFLINE_MODE"] == "true"
    assert ini["server"]["STATIC_ROOT_PATH"] == str(tmp_path / "static")
    assert ini["database"]["DB_TYPE"] == "sqlite3"
    assert ini["service"]["DISABLE_REGISTRATION"] == "true"
    assert ini["webhook"]["ALLOWED_HOST_LIST"] == "loopback"
    assert ini["packages"]["ENABLED"] == "true"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
