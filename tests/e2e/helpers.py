"""Building config repositories and running gitward against the e2e cluster."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
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


def gitward(
    *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitward", *args],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        input=input,
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


# -- what most e2e apps deploy, and their gitward.yaml -----------------------------


def web_deployment(*, tag: str = "1", selector: str = "web", mode: str = "") -> str:
    """Deployment ``web``: 2 replicas of ``example.com/web:<tag>``, pods labelled
    ``app: <selector>``; with ``mode``, the container sets ``MODE=<mode>``."""
    env = f"\n          env: [{{name: MODE, value: {mode}}}]" if mode else ""
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: {{matchLabels: {{app: {selector}}}}}
  template:
    metadata: {{labels: {{app: {selector}}}}}
    spec:
      containers:
        - name: web
          image: example.com/web:{tag}{env}
"""


#: The Deployment the controller tests edit by hand (its env var is one field to edit).
WEB = web_deployment(mode="git")
#: Service ``web`` in front of :func:`web_deployment`'s pods.
SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80}]
"""
#: ConfigMap ``settings`` with one key: ``SETTINGS.format("blue")``.
SETTINGS = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  colour: {}\n"


def one_app(repo: ConfigRepo, app: str, namespace: str, **spec: Any) -> None:
    """Write a ``gitward.yaml`` declaring one app, ``app``, at ``app/`` in ``namespace``."""
    repo.write(
        "gitward.yaml",
        {"apps": [{"name": app, "path": "app", "namespace": namespace, **spec}]},
    )


def repo_with(
    tmp_path: Path, app: str, namespace: str, files: dict[str, str], **spec: Any
) -> ConfigRepo:
    """A config repository with one app (see :func:`one_app`) of ``files``, committed."""
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app, namespace, **spec)
    for rel, text in files.items():
        repo.write(f"app/{rel}", text)
    repo.commit("initial")
    return repo


def two_apps(tmp_path: Path, namespace: str, app_name: str, **second: Any) -> ConfigRepo:
    """``app_name`` (autoSync, selfHeal: ConfigMap ``settings``) and ``<app_name>-b``
    (``second``'s settings: Deployment ``web``), in one namespace."""
    repo = ConfigRepo(tmp_path / "config")
    repo.write(
        "gitward.yaml",
        {
            "apps": [
                {
                    "name": app_name,
                    "path": "auto",
                    "namespace": namespace,
                    "autoSync": True,
                    "selfHeal": True,
                },
                {"name": f"{app_name}-b", "path": "other", "namespace": namespace, **second},
            ]
        },
    )
    repo.write("auto/settings.yaml", SETTINGS.format("blue"))
    repo.write("other/web.yaml", WEB)
    repo.commit("two apps")
    return repo


def unreachable_api_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ConfigRepo:
    """A one-app config repo (app ``x``) and a KUBECONFIG naming an API server that
    does not answer (port 9 on loopback)."""
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, "x", "x")
    repo.write("app/cm.yaml", SETTINGS.format("blue"))
    repo.commit("initial")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\n"
        "clusters: [{name: gone, cluster: {server: 'https://127.0.0.1:9',"
        " insecure-skip-tls-verify: true}}]\n"
        "contexts: [{name: gone, context: {cluster: gone, user: u}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    return repo
