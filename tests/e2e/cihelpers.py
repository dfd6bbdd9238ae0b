"""e2e helpers for the build side: its own registries, code repositories, ``gitward ci`` runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from gitward.dev.ports import free_port
from tests.e2e.helpers import REPO_ROOT, run_git

if TYPE_CHECKING:
    from tests.e2e.conftest import Cluster
    from tests.e2e.forgekit import Forge

EXAMPLE_CODE = REPO_ROOT / "examples" / "code" / "hello"
GITWARD = str(Path(sys.executable).parent / "gitward")


@dataclass(frozen=True)
class LocalRegistry:
    host: str  # 127.0.0.1:port
    storage: Path

    def contents(self) -> set[str]:
        """Every tag and blob the registry stores: equal before and after means nothing pushed."""
        root = self.storage / "docker" / "registry" / "v2"
        if not root.exists():
            return set()
        return {
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and ("/_manifests/tags/" in str(p) or "/blobs/" in str(p))
        }


@contextmanager
def local_registry(
    work: Path, *, htpasswd: tuple[str, str] | None = None
) -> Iterator[LocalRegistry]:
    """Debian's docker-registry on a free loopback port, stopped by its PID afterwards."""
    port = free_port()
    storage = work / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    auth = ""
    if htpasswd is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # bcrypt, which the registry's htpasswd wants; tests only

            hashed = crypt.crypt(htpasswd[1], crypt.mksalt(crypt.METHOD_BLOWFISH))
        (work / "htpasswd").write_text(f"{htpasswd[0]}:{hashed}\n")
        auth = f"auth: {{htpasswd: {{realm: test, path: {work / 'htpasswd'}}}}}\n"
    config = work / "registry.yml"
    config.write_text(
        "version: 0.1\nlog: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {storage}}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n{auth}"
    )
    binary = shutil.which("docker-registry")
    assert binary, "docker-registry is not installed (scripts/setup)"
    with (work / "registry.log").open("w") as log:
        proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code in (200, 401):
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (work / "registry.log").read_text()
            assert time.monotonic() < deadline, "the registry did not start"
            time.sleep(0.1)
        yield LocalRegistry(host=f"127.0.0.1:{port}", storage=storage)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        remove_images(f"127.0.0.1:{port}/")


def remove_images(prefix: str) -> None:
    """Remove what the tests built for a registry from buildah's storage: with the vfs
    driver every image is a full copy of its layers, gigabytes after a few runs."""
    from gitward.artifacts.buildah import Buildah

    buildah = Buildah.from_environment()
    listed = subprocess.run(
        buildah.argv("images", "--format", "{{.Name}}:{{.Tag}}"),
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    names = [n for n in listed if n.startswith(prefix)]
    if names:
        subprocess.run(buildah.argv("rmi", "--force", *names), capture_output=True, check=False)


def ci_env(forge: Forge, cluster: Cluster, who: Any, tmp_path: Path) -> dict[str, str]:
    """The build side's environment on the dev forge, pushing as ``who``."""
    from gitward.dev import baseimage

    return {
        "GITWARD_REGISTRY": f"{forge.registry}/{forge.dev.org}",
        "GITWARD_CHART_REPO": forge.chart_repo,
        "GITWARD_BUILD_USER": who.user,
        "GITWARD_BUILD_TOKEN": who.token,
        "GITWARD_BASE_IMAGE": baseimage.seed(cluster.dev.registry).reference,
        "GITWARD_REGISTRY_USERNAME": "",
        "GITWARD_REGISTRY_PASSWORD": "",
        "GITWARD_CHART_REPO_USERNAME": "",
        "GITWARD_CHART_REPO_PASSWORD": "",
        "DOCKER_CONFIG": str(tmp_path / "docker"),
        # The build side never needs it; a wrong one proves it is not read.
        "KUBECONFIG": str(tmp_path / "no-such-kubeconfig"),
    }


def code_repo(path: Path, *, tag: str | None = "v1.0.0") -> Path:
    """A copy of the example code repository, committed (and tagged)."""
    shutil.copytree(EXAMPLE_CODE, path)
    run_git(path, "init", "-q", "-b", "main")
    commit(path, "first")
    if tag:
        run_git(path, "tag", tag)
    return path


def commit(path: Path, message: str) -> str:
    run_git(path, "add", "-A")
    run_git(
        path, "-c", "user.name=dev", "-c", "user.email=dev@example.com", "commit", "-qm", message
    )
    return run_git(path, "rev-parse", "HEAD")


@dataclass(frozen=True)
class CiRun:
    code: int
    stdout: str
    stderr: str

    @property
    def record(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.stdout)
        return doc

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error: ")]


def gitward_ci(
    repo: Path, *args: str, env: dict[str, str] | None = None, drop: tuple[str, ...] = ()
) -> CiRun:
    """``gitward ci ARGS`` in ``repo``; ``drop`` names variables it must not see at all."""
    merged = {k: v for k, v in {**os.environ, **(env or {})}.items() if k not in drop}
    proc = subprocess.run(
        [GITWARD, "ci", *args],
        cwd=repo,
        env=merged,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return CiRun(proc.returncode, proc.stdout, proc.stderr)
