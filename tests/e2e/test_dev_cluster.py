"""``gitward dev up|down`` on a cluster of its own (own state dir and ports)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from gitward.tools import pinned_build
from tests.e2e.helpers import free_port


def gitward(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitward", *args],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=400,
    )


@pytest.fixture
def isolated(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {
        "GITWARD_STATE": str(tmp_path / "state"),
        "GITWARD_DEV_APISERVER_PORT": str(free_port()),
        "GITWARD_DEV_REGISTRY_PORT": str(free_port()),
    }
    yield env
    gitward("dev", "down", env=env)


def processes_under(path: str) -> list[str]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if path in cmd:
            found.append(cmd)
    return found


def test_dev_up_then_down_leaves_no_process_running(isolated: dict[str, str]) -> None:
    up = gitward("dev", "up", env=isolated)
    assert up.returncode == 0, up.stderr
    assert "kubeconfig:" in up.stdout and "registry:   127.0.0.1:" in up.stdout
    assert processes_under(isolated["GITWARD_STATE"]), "dev up started nothing"

    again = gitward("dev", "up", env=isolated)
    assert again.returncode == 0 and "already running" in again.stdout

    env = gitward("dev", "env", env=isolated)
    assert f"export KUBECONFIG={isolated['GITWARD_STATE']}/kubeconfig" in env.stdout

    down = gitward("dev", "down", env=isolated)
    assert down.returncode == 0, down.stderr
    ps = subprocess.run(["ps", "-eo", "args"], check=True, capture_output=True, text=True).stdout
    assert isolated["GITWARD_STATE"] not in ps


def test_dev_up_on_a_taken_port_fails_with_one_line_naming_the_port(
    isolated: dict[str, str],
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", int(isolated["GITWARD_DEV_APISERVER_PORT"])))
        s.listen()
        result = gitward("dev", "up", env=isolated)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"127.0.0.1:{isolated['GITWARD_DEV_APISERVER_PORT']}" in lines[0]
    assert "taken" in lines[0]
    assert not processes_under(isolated["GITWARD_STATE"])


def test_dev_up_after_a_failed_build_points_at_the_build_log(
    tmp_path: Path, isolated: dict[str, str]
) -> None:
    cache = tmp_path / "cache"
    build = pinned_build("kube-apiserver")
    (cache / "tools").mkdir(parents=True)
    log = cache / "logs" / f"{build.name}-{build.version}.log"
    (cache / "tools" / f"{build.name}-{build.version}.failed").write_text(f"{log}\n")
    result = gitward("dev", "up", env={**isolated, "GITWARD_CACHE": str(cache)})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(log) in lines[0] and "failed" in lines[0]


def test_dev_down_when_nothing_runs_exits_zero_and_says_so(isolated: dict[str, str]) -> None:
    result = gitward("dev", "down", env=isolated)
    assert result.returncode == 0
    assert "no dev cluster is running" in result.stdout
