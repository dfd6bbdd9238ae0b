"""The README's main command, run as a user runs it: it must work and say so."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess

import httpx

from tests.e2e.conftest import Cluster
from tests.e2e.helpers import REPO_ROOT


def stop_demo_ui(output: str) -> None:
    """The demo leaves its UI controller running for the user; a test stops it."""
    if pid := re.search(r"It runs until 'kill (\d+)'", output):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid[1]), signal.SIGTERM)


def run_demo() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO_ROOT / "scripts" / "demo")],
        check=False,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ},
        timeout=900,
    )


def test_the_demo_exits_zero_and_runs_again_on_the_same_cluster(cluster: Cluster) -> None:
    for attempt in (1, 2):
        result = run_demo()
        try:
            assert result.returncode == 0, f"run {attempt}:\n{result.stdout}\n{result.stderr}"
            assert "shop: synced" in result.stdout
            assert "replicas now: 3 (git says 3)" in result.stdout, result.stdout
            # The code repo's second version, built by gitward ci, names its commit.
            assert "hello@1.0.1-dev.1." in result.stdout and "(commit " in result.stdout
            assert "hello: charts hello@1.0.0 (commit " in result.stdout, result.stdout
            # Releases and rollbacks are pull requests on the forge, each printed with its URL.
            pulls = re.findall(
                r"^  (promotion|rollback) PR #(\d+)[^:]*: (http://127\.0\.0\.1:\d+/\S+)$",
                result.stdout,
                re.MULTILINE,
            )
            assert [(kind, url.endswith(f"/pulls/{n}")) for kind, n, url in pulls] == [
                ("promotion", True),
                ("rollback", True),
            ], result.stdout
            assert re.search(r"gitward/preview on \w+: success", result.stdout), result.stdout
            deployed = re.findall(r"gitward/deploy/hello on \w+: success", result.stdout)
            assert len(deployed) == 2, result.stdout
            rolled_back = re.search(r"^\S+ +\w+ +succeeded .*Roll back hello to ",
                                    result.stdout, re.MULTILINE)  # fmt: skip
            assert rolled_back and "hello@1.0.0 (commit " in rolled_back[0], result.stdout
            ui = re.search(r"^UI: (http://127\.0\.0\.1:\d+/ui/)$", result.stdout, re.MULTILINE)
            assert ui, result.stdout
            page = httpx.get(ui[1], timeout=10)
            assert page.status_code == 200 and 'data-app="shop"' in page.text
        finally:
            stop_demo_ui(result.stdout)
    web = cluster.get("apps/v1", "Deployment", "shop-web", "shop")
    assert web is not None and web["spec"]["replicas"] == 3
    assert cluster.get("apps/v1", "Deployment", "shop-worker", "shop") is None
    hello = cluster.get("apps/v1", "Deployment", "hello-hello", "shop")
    assert hello is not None
    image = hello["spec"]["template"]["spec"]["containers"][0]["image"]
    assert ":1.0.1-dev.1." in image and "@sha256:" in image, image
    # On the forge's staging, the rollback left 1.0.0 running.
    staged = cluster.get("apps/v1", "Deployment", "hello-hello", "staging")
    assert staged is not None
    image = staged["spec"]["template"]["spec"]["containers"][0]["image"]
    assert "/hello:1.0.0@sha256:" in image, image
