"""Building config repositories and running gitward against the e2e cluster."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

from gitward.tools import find_tool

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CHARTS = REPO_ROOT / "examples" / "charts"


def run_git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def helm(*args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        [str(find_tool("helm")), *args],
        cwd=cwd,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def package_chart(src: Path, version: str, out: Path, *, name: str | None = None) -> Path:
    """A copy of chart ``src`` at ``version`` (optionally renamed), packaged into ``out``."""
    work = out / "src" / f"{name or src.name}-{version}"
    subprocess.run(["rm", "-rf", str(work)], check=True)
    work.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-r", str(src), str(work)], check=True)
    chart = yaml.safe_load((work / "Chart.yaml").read_text())
    chart["version"] = version
    chart["appVersion"] = version
    if name:
        chart["name"] = name
    (work / "Chart.yaml").write_text(yaml.safe_dump(chart))
    helm("package", str(work), "-d", str(out))
    return out / f"{chart['name']}-{version}.tgz"


class ConfigRepo:
    """A git config repository on disk, committed as a fixed author."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        run_git(path, "init", "-q", "-b", "main")

    @property
    def url(self) -> str:
        return f"file://{self.path}"

    def write(self, rel: str, content: str | dict[str, Any]) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, dict):
            content = yaml.safe_dump(content, sort_keys=False)
        target.write_text(textwrap.dedent(content))

    def remove(self, rel: str) -> None:
        run_git(self.path, "rm", "-rq", rel)

    def lock(self, app_path: str) -> None:
        """Resolve the umbrella chart's dependencies into its lock, as a user would."""
        helm("dependency", "update", "--plain-http", ".", cwd=self.path / app_path)
        subprocess.run(["rm", "-rf", str(self.path / app_path / "charts")], check=True)

    def commit(self, message: str) -> str:
        run_git(self.path, "add", "-A")
        run_git(self.path, "commit", "-qm", message)
        return run_git(self.path, "rev-parse", "HEAD")


def gitward(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitward", *args],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def kubectl(kubeconfig: str, *args: str, env: dict[str, str] | None = None) -> str:
    """The pinned kubectl against ``kubeconfig``; fails the test on a non-zero exit."""
    proc = subprocess.run(
        [str(find_tool("kubectl")), "--kubeconfig", kubeconfig, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
