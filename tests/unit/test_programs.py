"""External programs get an allow-listed environment, a deadline, and scrubbed stderr."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gitward.config.apps import AppSpec
from gitward.errors import RenderError, SourceError, ToolError
from gitward.programs import GIT, GPG, HELM, KUBECTL, SOPS, Program, run_program
from gitward.render import render_app
from gitward.source import GitCredentials, GitSource

TOKEN = "tok-s3cr3t-value"
HOOK = "hook-s3cr3t-value"


@pytest.fixture(autouse=True)
def gitward_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The environment of a gitward controller: its secrets and a kubeconfig."""
    monkeypatch.setenv("GITWARD_GIT_TOKEN", TOKEN)
    monkeypatch.setenv("GITWARD_WEBHOOK_SECRET", HOOK)
    monkeypatch.setenv("GITWARD_GIT_SSH_KEY", str(tmp_path / "id_ed25519"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-s3cr3t")
    monkeypatch.setenv("GITWARD_CACHE", str(tmp_path / "cache"))


def recorder(tmp_path: Path, name: str, *, then: str = "exit 1") -> tuple[Path, Path]:
    """A fake program that writes its environment to a file, then runs ``then``."""
    dump = tmp_path / f"{name}.env"
    script = tmp_path / name
    script.write_text(f"#!/bin/sh\n/usr/bin/env > {dump}\n{then}\n")
    script.chmod(0o755)
    return script, dump


def environment(dump: Path) -> dict[str, str]:
    lines = dump.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


@pytest.mark.parametrize("program", [HELM, KUBECTL, GIT, GPG, SOPS], ids=lambda p: p.name)
def test_no_program_inherits_gitwards_secrets_or_kubeconfig(
    tmp_path: Path, program: Program
) -> None:
    script, dump = recorder(tmp_path, "tool", then="exit 0")

    run_program(program, [str(script)], what="tool", timeout=10)

    env = environment(dump)
    for name in (
        "GITWARD_GIT_TOKEN",
        "GITWARD_WEBHOOK_SECRET",
        "GITWARD_GIT_SSH_KEY",
        "KUBECONFIG",
        "AWS_SECRET_ACCESS_KEY",
    ):
        assert name not in env
    assert TOKEN not in dump.read_text()
    assert env["PATH"] == os.environ["PATH"]


def test_helm_runs_with_only_its_allowed_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helm, dump = recorder(tmp_path, "helm")
    monkeypatch.setenv("GITWARD_HELM", str(helm))
    root = tmp_path / "repo"
    (root / "app" / "templates").mkdir(parents=True)
    (root / "app" / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.1.0\n")

    with pytest.raises(RenderError, match="helm template failed"):
        render_app(app=AppSpec(name="app", path="app", namespace="ns"), root=root)

    env = environment(dump)
    assert not {"GITWARD_GIT_TOKEN", "GITWARD_WEBHOOK_SECRET", "KUBECONFIG"} & set(env)
    assert env["HOME"] == env["HELM_CONFIG_HOME"].removesuffix("/config")
    assert env["HELM_NO_PLUGINS"] == "1"


def test_kubectl_kustomize_runs_with_only_its_allowed_environment_and_load_restrictions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubectl, dump = recorder(tmp_path, "kubectl", then='echo "$@" > ' + str(tmp_path / "argv"))
    monkeypatch.setenv("GITWARD_KUBECTL", str(kubectl))
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / "app" / "kustomization.yaml").write_text("resources: []\n")

    render_app(app=AppSpec(name="app", path="app", namespace="ns"), root=root)

    env = environment(dump)
    assert not {"GITWARD_GIT_TOKEN", "GITWARD_WEBHOOK_SECRET", "KUBECONFIG"} & set(env)
    argv = (tmp_path / "argv").read_text().split()
    assert argv[:3] == ["kustomize", "--load-restrictor", "LoadRestrictionsRootOnly"]


def test_git_gets_its_token_only_as_the_credential_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git, dump = recorder(tmp_path, "git", then='exec /usr/bin/git "$@"')
    monkeypatch.setenv("GITWARD_GIT", str(git))
    source = GitSource(
        url="http://127.0.0.1:9/config.git", credentials=GitCredentials(token=TOKEN), timeout=10
    )

    with pytest.raises(SourceError):
        source.resolve("main")

    env = environment(dump)
    assert not {"GITWARD_GIT_TOKEN", "GITWARD_WEBHOOK_SECRET", "KUBECONFIG"} & set(env)
    assert [k for k, v in env.items() if TOKEN in v] == []
    assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    assert env["GIT_CONFIG_VALUE_0"].startswith("Authorization: Basic ")


def test_secrets_are_scrubbed_from_stderr_and_stdout_is_left_as_data(tmp_path: Path) -> None:
    script = tmp_path / "noisy"
    script.write_text(f"#!/bin/sh\necho 'out {TOKEN}'\necho 'err {TOKEN} and given-1' >&2\n")
    script.chmod(0o755)

    run = run_program(HELM, [str(script)], what="noisy", timeout=10, secrets=["given-1"])

    assert run.err == "err *** and ***\n"
    assert run.out == f"out {TOKEN}\n"


def test_a_program_past_its_deadline_is_killed_with_its_children(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = tmp_path / "hang"
    script.write_text(f"#!/bin/sh\nsleep 60 &\necho $! > {pids}\nwait\n")
    script.chmod(0o755)
    started = time.monotonic()

    with pytest.raises(RenderError) as caught:
        run_program(HELM, [str(script)], what="hang", timeout=0.5, failure=RenderError)

    assert str(caught.value) == "hang timed out after 0.5s"
    assert time.monotonic() - started < 10
    child = int(pids.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_run_logged_streams_each_line_and_keeps_a_scrubbed_log(tmp_path: Path) -> None:
    from gitward.programs import Program, run_logged

    seen: list[str] = []
    log = tmp_path / "build.log"
    run = run_logged(
        Program("sh"),
        ["sh", "-c", "echo one; echo secret-value >&2; exit 3"],
        what="t",
        timeout=10,
        log=log,
        secrets=["secret-value"],
        echo=seen.append,
    )
    assert run.returncode == 3
    assert seen == ["one", "***"]
    assert log.read_text() == "one\n***\n"


def test_run_logged_kills_a_program_past_its_deadline(tmp_path: Path) -> None:
    from gitward.programs import Program, run_logged

    with pytest.raises(ToolError, match=r"^t timed out after 0.5s; log: "):
        run_logged(
            Program("sh"), ["sh", "-c", "sleep 30"], what="t", timeout=0.5, log=tmp_path / "l"
        )
