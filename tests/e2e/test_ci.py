"""``gitward ci`` as a build pipeline runs it: a real buildah, helm and registry.

Each test gets a code repository copied from ``examples/code/hello``; the
registries are Debian's docker-registry, started here (one open, one with
htpasswd credentials), and the base image is seeded as ``gitward dev
base-image`` does.
"""

from __future__ import annotations

import json
import socket
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from gitward.dev import baseimage
from gitward.dev.ports import free_port
from tests.e2e.cihelpers import (
    LocalRegistry,
    code_repo,
    commit,
    gitward_ci,
    local_registry,
)
from tests.e2e.helpers import helm, run_git

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    with local_registry(tmp_path_factory.mktemp("registry")) as reg:
        yield reg


@pytest.fixture(scope="module")
def base_image(registry: LocalRegistry) -> str:
    return baseimage.seed(registry.host).reference


@pytest.fixture
def env(registry: LocalRegistry, base_image: str, tmp_path: Path) -> dict[str, str]:
    return {
        "GITWARD_REGISTRY": registry.host,
        "GITWARD_BASE_IMAGE": base_image,
        "GITWARD_CHART_REPO": "",
        "GITWARD_REGISTRY_USERNAME": "",
        "GITWARD_REGISTRY_PASSWORD": "",
        "GITWARD_BUILD_USER": "",
        "GITWARD_BUILD_TOKEN": "",
        "DOCKER_CONFIG": str(tmp_path / "docker"),
    }


def manifest(registry: str, repo: str, tag: str) -> dict[str, object]:
    r = httpx.get(
        f"http://{registry}/v2/{repo}/manifests/{tag}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert r.status_code == 200, r.text
    doc: dict[str, object] = r.json()
    return doc


def test_ci_builds_pushes_packages_and_publishes_then_records_it(
    tmp_path: Path, env: dict[str, str], registry: LocalRegistry
) -> None:
    repo = code_repo(tmp_path / "hello")
    sha = run_git(repo, "rev-parse", "HEAD")
    run = gitward_ci(repo, "-o", "json", "--record", str(tmp_path / "record.json"), env=env)
    assert run.code == 0, run.stderr
    record = run.record
    assert json.loads((tmp_path / "record.json").read_text()) == record
    assert (record["commit"], record["version"]) == (sha, "1.0.0")
    assert record["image"].startswith(f"{registry.host}/hello:1.0.0@sha256:")
    chart = record["chart"]
    assert chart["oci"] == f"oci://{registry.host}/charts/hello:1.0.0"
    assert chart["digest"].startswith("sha256:")
    assert set(record["timings"]) >= {"version", "lint", "build", "push-image", "package", "total"}
    # One progress line per step, each with its duration.
    progress = [line for line in run.stderr.splitlines() if line.startswith("[ci] ")]
    assert [line.split()[1] for line in progress] == [s["name"] for s in record["steps"]]
    assert all(line.split()[2].endswith("s") for line in progress)
    assert "  | " not in run.stderr  # the build log streams only with -v

    notes = manifest(registry.host, "hello", "1.0.0")["annotations"]
    assert isinstance(notes, dict)
    assert notes["org.opencontainers.image.revision"] == sha
    assert notes["org.opencontainers.image.version"] == "1.0.0"
    assert notes["org.opencontainers.image.source"] == f"file://{repo.resolve()}"
    assert notes["org.opencontainers.image.created"]

    pulled = tmp_path / "pulled"
    helm(
        "pull",
        chart["oci"].rsplit(":", 1)[0],
        "--version",
        "1.0.0",
        "--plain-http",
        "--untar",
        "-d",
        str(pulled),
    )
    values = yaml.safe_load((pulled / "hello" / "values.yaml").read_text())
    digest = record["image"].split("@")[1]
    assert values["image"] == {
        "repository": f"{registry.host}/hello",
        "tag": "1.0.0",
        "digest": digest,
    }
    meta = yaml.safe_load((pulled / "hello" / "Chart.yaml").read_text())
    assert meta["annotations"]["gitward.io/commit"] == sha
    rendered = helm("template", "x", str(pulled / "hello"))
    assert f'image: "{record["image"]}"' in rendered
    assert run_git(repo, "status", "--porcelain") == ""  # sources untouched


def test_a_second_run_on_an_unchanged_commit_builds_and_pushes_nothing(
    tmp_path: Path, env: dict[str, str], registry: LocalRegistry
) -> None:
    repo = code_repo(tmp_path / "hello", tag="v1.1.0")
    first = gitward_ci(repo, "-o", "json", env=env)
    assert first.code == 0, first.stderr
    before = registry.contents()
    second = gitward_ci(repo, "-o", "json", env=env)
    assert second.code == 0, second.stderr
    assert registry.contents() == before
    steps = {s["name"]: s for s in second.record["steps"]}
    assert not steps["build"]["changed"] and "skipped" in steps["build"]["detail"]
    assert not steps["push-image"]["changed"] and not steps["publish-oci"]["changed"]
    assert "already published" in second.stderr
    # Found published for this commit: not even linted or packaged again.
    assert [s["name"] for s in second.record["steps"]] == [
        "version",
        "build",
        "push-image",
        "publish-oci",
    ]
    assert second.record["image"] == first.record["image"]
    assert second.record["chart"]["digest"] == first.record["chart"]["digest"]


def test_a_commit_after_the_tag_publishes_a_pre_release_that_names_it_with_v_streaming_the_log(
    tmp_path: Path, env: dict[str, str]
) -> None:
    repo = code_repo(tmp_path / "hello", tag="v2.0.0")
    (repo / "app.py").write_text((repo / "app.py").read_text() + "\n# change\n")
    sha = commit(repo, "second")
    run = gitward_ci(repo, "-v", "-o", "json", env=env)
    assert run.code == 0, run.stderr
    assert run.record["version"] == f"2.0.1-dev.1.g{sha[:7]}"
    assert "  | STEP 1/" in run.stderr


def assert_chart_points_at(chart: Path, image: str) -> None:
    """The chart's values and annotations name ``image``; no stand-in digest is left."""
    digest = image.split("@")[1]
    values_text = (chart / "values.yaml").read_text()
    assert yaml.safe_load(values_text)["image"]["digest"] == digest
    meta_text = (chart / "Chart.yaml").read_text()
    assert yaml.safe_load(meta_text)["annotations"]["gitward.io/image"] == image
    for text in (values_text, meta_text):
        assert text.count("sha256:") == text.count(digest)


def test_build_lints_beside_the_image_and_publish_then_package_reuse_that_lint(
    tmp_path: Path, env: dict[str, str], registry: LocalRegistry
) -> None:
    repo = code_repo(tmp_path / "hello", tag="v4.0.0")
    built = gitward_ci(repo, "build", env=env)
    assert built.code == 0, built.stderr
    assert "chart: helm lint passed (beside the build)" in built.stderr
    assert not any("hello/_manifests/tags/4.0.0/" in p for p in registry.contents())

    published = gitward_ci(repo, "publish", "-o", "json", env=env)
    assert published.code == 0, published.stderr
    steps = published.record["steps"]
    assert [s["name"] for s in steps] == ["version", "lint", "push-image", "package", "publish-oci"]
    assert not steps[1]["changed"] and "before" in steps[1]["detail"]
    image = published.record["image"]
    assert image.startswith(f"{registry.host}/hello:4.0.0@sha256:")
    assert published.record["timings"]["total"] >= max(s["seconds"] for s in steps)
    pulled = tmp_path / "pulled"
    oci = published.record["chart"]["oci"].rsplit(":", 1)[0]
    helm("pull", oci, "--version", "4.0.0", "--plain-http", "--untar", "-d", str(pulled))
    assert_chart_points_at(pulled / "hello", image)

    # package alone asks the registry for the image's digest.
    packaged = gitward_ci(repo, "package", "--destination", str(tmp_path / "out"), env=env)
    assert packaged.code == 0, packaged.stderr
    with tarfile.open(tmp_path / "out" / "hello-4.0.0.tgz") as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    assert_chart_points_at(tmp_path / "unpacked" / "hello", image)


class _Listener:
    """A TCP server standing in for an API server: it counts every connection."""

    def __init__(self) -> None:
        self.port = free_port()
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", self.port))
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


def test_ci_never_reads_the_kubeconfig_nor_calls_an_api_server(
    tmp_path: Path, env: dict[str, str]
) -> None:
    listener = _Listener()
    try:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {"name": "c", "cluster": {"server": f"http://127.0.0.1:{listener.port}"}}
                    ],
                    "users": [{"name": "u", "user": {"token": "cluster-token"}}],
                    "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                    "current-context": "x",
                }
            )
        )
        repo = code_repo(tmp_path / "hello", tag="v3.0.0")
        script = (
            "import sys\n"
            "from gitward.cli.main import cli\n"
            "try:\n"
            "    cli(['ci', '-o', 'json'], prog_name='gitward')\n"
            "except SystemExit as e:\n"
            "    assert e.code in (0, None), e.code\n"
            "above = ('gitward.kube', 'gitward.dev')\n"
            "loaded = sorted(m for m in sys.modules if m.startswith(above))\n"
            "assert not loaded, loaded\n"
            "print('CLEAN', file=sys.stderr)\n"
        )
        import os
        import subprocess
        import sys

        proc = subprocess.run(
            [sys.executable, "-c", script],
            cwd=repo,
            env={**os.environ, **env, "KUBECONFIG": str(kubeconfig)},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert "CLEAN" in proc.stderr
        assert listener.connections == 0
        assert "cluster-token" not in proc.stdout + proc.stderr
    finally:
        listener.close()
