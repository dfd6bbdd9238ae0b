"""A config repository on a bare origin, and a chart repository over HTTP, for promotions.

Real git and real helm run; only the forge and the cluster are fakes here
(the e2e tests use the real ones).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.dev.ports import free_port
from gitward.tools import find_tool

EXAMPLE_WEB = Path(__file__).resolve().parents[3] / "examples" / "charts" / "web"
CODE = "http://127.0.0.1:1/acme/code.git"


def revision_of(version: str) -> str:
    return version.replace(".", "")[:3].ljust(40, "a")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def helm(*args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        [str(find_tool("helm")), *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def chart_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``web`` 0.1.0 and 0.2.0, each annotated with the code commit it was built from."""
    out = tmp_path_factory.mktemp("chartrepo")
    for version in ("0.1.0", "0.2.0"):
        work = out / "src" / f"web-{version}"
        shutil.copytree(EXAMPLE_WEB, work)
        chart = yaml.safe_load((work / "Chart.yaml").read_text())
        chart["version"] = version
        chart["annotations"] = {
            "gitward.io/commit": revision_of(version),
            "gitward.io/source": CODE,
        }
        (work / "Chart.yaml").write_text(yaml.safe_dump(chart))
        helm("package", str(work), "-d", str(out))
    shutil.rmtree(out / "src")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    helm("repo", "index", str(out), "--url", url)
    handler = functools.partial(_Quiet, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def umbrella(chart_repo: str, version: str) -> dict[str, Any]:
    return {
        "apiVersion": "v2",
        "name": "shop",
        "version": "1.0.0",
        "dependencies": [{"name": "web", "version": version, "repository": chart_repo}],
    }


@pytest.fixture
def origin(tmp_path: Path, chart_repo: str) -> Path:
    """A bare config repository: shop in staging and prod, both on web 0.1.0, plus infra."""
    work = tmp_path / "seed"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    config = {
        "apps": [
            {"name": "shop-staging", "environment": "staging", "path": "apps/staging/shop",
             "namespace": "shop-staging"},
            {"name": "shop-prod", "environment": "prod", "path": "apps/prod/shop",
             "namespace": "shop-prod"},
            {"name": "infra", "path": "apps/infra", "namespace": "infra"},
        ]
    }  # fmt: skip
    (work / "gitward.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    for env in ("staging", "prod"):
        app = work / "apps" / env / "shop"
        app.mkdir(parents=True)
        (app / "Chart.yaml").write_text(
            yaml.safe_dump(umbrella(chart_repo, "0.1.0"), sort_keys=False)
        )
        (app / "web.yaml").write_text('replicas: 1\nimage:\n  tag: "0.1.0"  # from CI\n')
        helm("dependency", "update", ".", cwd=app)
        shutil.rmtree(app / "charts")
    (work / "apps" / "infra").mkdir(parents=True)
    (work / "apps" / "infra" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: infra}\ndata: {a: '1'}\n"
    )
    git(work, "add", "-A")
    git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "seed")
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    return bare


@pytest.fixture
def clone_dir(tmp_path: Path, origin: Path) -> Path:
    path = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(path))
    return path
