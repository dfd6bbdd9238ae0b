"""``gitward dev up|down`` on a cluster of its own (own state dir and ports)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from gitward.dev.ports import ephemeral_range, free_port, is_free
from gitward.tools import cache_root, pinned_build


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
    env = {"GITWARD_STATE": str(tmp_path / "state")}
    yield env
    gitward("dev", "down", env=env)


def processes_under(path: str) -> list[str]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if path in cmd:
            found.append(cmd)
    return found


def test_dev_up_then_down_leaves_no_process_running_even_when_half_started(
    isolated: dict[str, str],
) -> None:
    up = gitward("dev", "up", env=isolated)
    assert up.returncode == 0, up.stderr
    assert "kubeconfig:" in up.stdout and "registry:   127.0.0.1:" in up.stdout
    assert processes_under(isolated["GITWARD_STATE"]), "dev up started nothing"

    low, _ = ephemeral_range()
    state = json.loads((Path(isolated["GITWARD_STATE"]) / "dev.json").read_text())
    assert set(state["ports"]) >= {"apiserver", "registry", "etcd", "scheduler"}
    assert all(port < low for port in state["ports"].values()), state["ports"]
    # The forge's port is reserved in the block, and listened on only with --forge.
    serving = [port for name, port in state["ports"].items() if name != "forge"]
    assert not any(is_free(port) for port in serving), "a port is not listened on"
    assert state["apiserver"] == f"https://127.0.0.1:{state['ports']['apiserver']}"

    again = gitward("dev", "up", env=isolated)
    assert again.returncode == 0 and "already running" in again.stdout

    env = gitward("dev", "env", env=isolated)
    assert f"export KUBECONFIG={isolated['GITWARD_STATE']}/kubeconfig" in env.stdout

    # What a crash between starting the components and recording them leaves:
    # processes under the state dir and no state file.
    (Path(isolated["GITWARD_STATE"]) / "dev.json").unlink()
    half = gitward("dev", "env", env=isolated)
    assert half.returncode == 2
    assert "half-started" in half.stderr and "kube-apiserver" in half.stderr
    assert "gitward dev down" in half.stderr

    down = gitward("dev", "down", env=isolated)
    assert down.returncode == 0, down.stderr
    assert "stopped" in down.stdout
    ps = subprocess.run(["ps", "-eo", "args"], check=True, capture_output=True, text=True).stdout
    assert isolated["GITWARD_STATE"] not in ps


def test_dev_up_on_a_taken_port_fails_with_one_line_naming_the_port(
    isolated: dict[str, str],
) -> None:
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        result = gitward("dev", "up", env={**isolated, "GITWARD_DEV_APISERVER_PORT": str(port)})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"127.0.0.1:{port}" in lines[0]
    assert "taken" in lines[0]
    assert not processes_under(isolated["GITWARD_STATE"])


def test_dev_up_refuses_a_port_in_the_ephemeral_range(isolated: dict[str, str]) -> None:
    low, _ = ephemeral_range()
    result = gitward("dev", "up", env={**isolated, "GITWARD_DEV_REGISTRY_PORT": str(low + 7)})
    assert result.returncode != 0
    assert "ephemeral range" in result.stderr and str(low + 7) in result.stderr
    assert not processes_under(isolated["GITWARD_STATE"])


def cache_with(tmp_path: Path, tool: str, script: str) -> Path:
    """A tools cache of symlinks to the pinned builds, with ``tool`` replaced by ``script``."""
    cache = tmp_path / "cache"
    for real in (cache_root() / "tools").iterdir():
        if real.is_dir() and not real.name.startswith("."):
            (cache / "tools" / real.name).mkdir(parents=True)
            for binary in real.iterdir():
                (cache / "tools" / real.name / binary.name).symlink_to(binary)
    build = pinned_build(tool)
    fake = cache / "tools" / f"{build.name}-{build.version}" / tool
    fake.unlink()
    fake.write_text(script)
    fake.chmod(0o755)
    return cache


def test_a_component_failing_after_others_started_leaves_nothing_running(
    tmp_path: Path, isolated: dict[str, str]
) -> None:
    real = pinned_build("kube-scheduler").directory / "kube-scheduler"
    cache = cache_with(
        tmp_path,
        "kube-scheduler",
        "#!/bin/sh\n"
        f'case "$1" in --version|version) exec {real} "$@";; esac\n'
        "echo 'scheduler: refusing to start for this test' >&2\nexit 1\n",
    )
    result = gitward("dev", "up", env={**isolated, "GITWARD_CACHE": str(cache)})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "kube-scheduler exited" in lines[0]
    assert "refusing to start for this test" in lines[0]
    assert not processes_under(isolated["GITWARD_STATE"])
    assert not (Path(isolated["GITWARD_STATE"]) / "dev.json").exists()


def test_a_registry_that_exits_at_once_leaves_nothing_running(
    tmp_path: Path, isolated: dict[str, str]
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "docker-registry"
    fake.write_text("#!/bin/sh\necho 'registry: no storage for this test' >&2\nexit 1\n")
    fake.chmod(0o755)
    env = {**isolated, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = gitward("dev", "up", env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "registry exited: registry: no storage for this test" in lines[0]
    assert not processes_under(isolated["GITWARD_STATE"])
