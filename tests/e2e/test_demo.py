"""The README's main command, run as a user runs it: it must work and say so."""

from __future__ import annotations

import os
import subprocess

from tests.e2e.conftest import Cluster
from tests.e2e.helpers import REPO_ROOT


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
        assert result.returncode == 0, f"run {attempt}:\n{result.stdout}\n{result.stderr}"
        assert "shop: synced" in result.stdout
        assert "replicas now: 3 (git says 3)" in result.stdout, result.stdout
    web = cluster.get("apps/v1", "Deployment", "shop-web", "shop")
    assert web is not None and web["spec"]["replicas"] == 3
    assert cluster.get("apps/v1", "Deployment", "shop-worker", "shop") is None
