"""The helm binary: which one renders, the environment it runs in, and running it.

Helm never sees the user's own configuration nor gitward's secrets: it runs
with an allow-listed environment (:data:`gitward.programs.HELM`), and
``HOME``/``HELM_CACHE_HOME``/``HELM_CONFIG_HOME``/``HELM_DATA_HOME`` point
under ``cache_root()/helm`` (so there are no registry logins and no named
repositories: a dependency on ``@stable`` is an error). Every run has a
timeout, and one that runs out is a :class:`RenderError`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from gitward.artifacts.credentials import read_lookup
from gitward.errors import RenderError
from gitward.hosts import is_loopback
from gitward.programs import HELM, ProgramRun, run_program
from gitward.render.helm.charts import Dependency, UmbrellaChart, norm_url
from gitward.tools import cache_root, find_tool

DEFAULT_TIMEOUT = 300.0
"""Seconds one helm command may run (dependency downloads included)."""


def helm_path() -> str:
    return str(find_tool("helm"))


def helm_identity() -> str:
    """Which helm binary renders: its path, size and modification time.

    Cheap (a ``stat``, not a ``helm version`` run), so a render cache hit
    starts no process at all; a rebuilt or replaced helm changes it.
    """
    path = find_tool("helm")
    try:
        st = path.stat()
    except OSError:
        return str(path)
    return f"{path}|{st.st_size}|{st.st_mtime_ns}"


def helm_home() -> Path:
    return cache_root() / "helm"


def helm_env(*, repository_config: Path) -> dict[str, str]:
    """What helm gets on top of :data:`gitward.programs.HELM`'s allowed environment.

    Its homes are gitward's, not the user's, and ``HOME`` points there too, so
    helm finds no registry login, plugin or config of the user's.
    """
    home = helm_home()
    return {
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "HELM_REPOSITORY_CONFIG": str(repository_config),
        "HELM_NO_PLUGINS": "1",
        "NO_COLOR": "1",
    }


def run_helm(
    argv: Sequence[str], *, what: str, timeout: float, env: Mapping[str, str]
) -> ProgramRun:
    """Run ``argv`` (``argv[0]`` is helm) to completion; a non-zero exit is a result."""
    return run_program(HELM, argv, what=what, timeout=timeout, env=env, failure=RenderError)


def repository_name(url: str) -> str:
    """The name gitward gives a classic chart repository in its generated config."""
    return "gitward-" + hashlib.sha256(norm_url(url).encode()).hexdigest()[:16]


def repositories_yaml(dependencies: tuple[Dependency, ...]) -> str:
    """A ``repositories.yaml`` with exactly the classic repositories of ``dependencies``."""
    urls = sorted({norm_url(d.repository) for d in dependencies if d.scheme in ("http", "https")})
    entries: list[dict[str, str]] = []
    for url in urls:
        entry = {"name": repository_name(url), "url": url}
        parts = urlsplit(url)
        # Read credentials (the deploy identity's), never in cleartext to another host.
        if parts.scheme == "https" or is_loopback(parts.hostname or ""):
            found = read_lookup(parts.netloc)
            if found is not None:
                entry.update(username=found.username, password=found.password)
        entries.append(entry)
    # JSON is YAML, and helm reads this file with a YAML-to-JSON decoder.
    return json.dumps({"apiVersion": "", "repositories": entries}, indent=2) + "\n"


def plain_http(chart: UmbrellaChart) -> bool:
    """Whether ``--plain-http`` is needed: every OCI dependency is on a loopback host."""
    hosts = {_host(d.repository) for d in chart.dependencies if d.scheme == "oci"}
    loopback = {h for h in hosts if is_loopback(h)}
    if loopback and loopback != hosts:
        raise RenderError(
            f"{chart.where(chart.deps_file)}: OCI dependencies mix loopback registries "
            f"({', '.join(sorted(loopback))}, plain HTTP) with remote ones "
            f"({', '.join(sorted(hosts - loopback))}, TLS); helm can only do one per chart"
        )
    return bool(loopback)


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""
