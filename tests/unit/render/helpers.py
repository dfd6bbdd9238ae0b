"""Building charts, chart repositories and OCI registries for render tests.

Everything here drives the real helm binary, with its own isolated homes so
the tests never read or write the developer's helm configuration (and never
warm the cache of the renders under test).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from gitward.dev.ports import free_port

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "render"
WEB_CHART = FIXTURES / "charts" / "web"
DOCKER_REGISTRY = Path("/usr/bin/docker-registry")


@dataclass(frozen=True)
class HelmCli:
    """The real helm, run the way a chart author would, isolated under ``home``."""

    binary: Path
    home: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
        env.update(
            HELM_CACHE_HOME=str(self.home / "cache"),
            HELM_CONFIG_HOME=str(self.home / "config"),
            HELM_DATA_HOME=str(self.home / "data"),
        )
        return env

    def __call__(self, *args: str, cwd: Path | None = None) -> str:
        proc = subprocess.run(
            [str(self.binary), *args],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=cwd,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    def lock(self, chart_dir: Path, *extra: str) -> None:
        """Write the chart's lock with ``helm dependency update``, then drop ``charts/``."""
        self("dependency", "update", str(chart_dir), *extra)
        shutil.rmtree(chart_dir / "charts", ignore_errors=True)

    def package(self, chart_dir: Path, into: Path) -> Path:
        into.mkdir(parents=True, exist_ok=True)
        self("package", str(chart_dir), "--destination", str(into))
        meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
        return into / f"{meta['name']}-{meta['version']}.tgz"


def copy_web_chart(dest: Path, *, version: str = "0.1.0", **values: Any) -> Path:
    """The fixture ``web`` chart at ``dest``, with its version and default values replaced."""
    shutil.copytree(WEB_CHART, dest)
    meta = yaml.safe_load((dest / "Chart.yaml").read_text())
    meta["version"] = version
    write_yaml(dest / "Chart.yaml", meta)
    if values:
        defaults = yaml.safe_load((dest / "values.yaml").read_text())
        defaults.update(values)
        write_yaml(dest / "values.yaml", defaults)
    return dest


def write_umbrella(
    app_dir: Path,
    *,
    dependencies: list[dict[str, str]],
    api_version: str = "v2",
    values: dict[str, Any] | None = None,
    name: str = "shop",
) -> Path:
    """An umbrella chart: dependencies in ``Chart.yaml`` (v2) or ``requirements.yaml`` (v1)."""
    app_dir.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"apiVersion": api_version, "name": name, "version": "1.0.0"}
    if api_version == "v1":
        write_yaml(app_dir / "requirements.yaml", {"dependencies": dependencies})
    else:
        meta["dependencies"] = dependencies
    write_yaml(app_dir / "Chart.yaml", meta)
    if values is not None:
        write_yaml(app_dir / "values.yaml", values)
    return app_dir


def write_yaml(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def snapshot(tree: Path) -> dict[str, bytes]:
    """Every file under ``tree`` and its content."""
    return {
        p.relative_to(tree).as_posix(): p.read_bytes()
        for p in sorted(tree.rglob("*"))
        if p.is_file()
    }


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass(frozen=True)
class ChartRepo:
    """A classic chart repository (``index.yaml`` + ``.tgz``) served over HTTP."""

    url: str
    directory: Path
    helm: HelmCli

    def publish(self, chart_dir: Path) -> None:
        self.helm.package(chart_dir, self.directory)
        self.reindex()

    def remove(self, archive: str) -> None:
        (self.directory / archive).unlink()
        self.reindex()

    def reindex(self) -> None:
        (self.directory / "index.yaml").unlink(missing_ok=True)
        self.helm("repo", "index", str(self.directory), "--url", self.url)


@contextmanager
def serve_chart_repo(directory: Path, helm: HelmCli) -> Iterator[ChartRepo]:
    directory.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        yield ChartRepo(url=f"http://127.0.0.1:{port}", directory=directory, helm=helm)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass(frozen=True)
class OciRegistry:
    """A ``docker-registry`` on loopback, plain HTTP."""

    host: str
    helm: HelmCli

    @property
    def url(self) -> str:
        return f"oci://{self.host}/charts"

    def push(self, archive: Path) -> None:
        self.helm("push", str(archive), self.url, "--plain-http")


@contextmanager
def run_oci_registry(directory: Path, helm: HelmCli) -> Iterator[OciRegistry]:
    port = free_port()
    storage = directory / "storage"
    storage.mkdir(parents=True)
    config = directory / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    with (directory / "registry.log").open("w") as log:
        proc = subprocess.Popen(
            [str(DOCKER_REGISTRY), "serve", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(f"http://127.0.0.1:{port}/v2/", proc)
        yield OciRegistry(host=f"127.0.0.1:{port}", helm=helm)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_for(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"docker-registry exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"docker-registry did not answer on {url}")
