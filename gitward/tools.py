"""Where the external binaries gitward runs live.

gitward shells out to ``helm`` (and ``kubectl kustomize``). A user puts them on
``PATH`` or names them with ``GITWARD_<TOOL>`` (e.g. ``GITWARD_HELM``). In
development and tests, ``tools/build.sh`` builds the pinned versions from
source into a per-user cache, which is searched first.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from gitward.errors import ToolError

_PINS = Path(__file__).parent / "dev" / "versions.env"

# Which pinned build provides each binary.
_PROVIDER = {
    "helm": "HELM",
    "kwok": "KWOK",
    "kwokctl": "KWOK",
    "etcd": "ETCD",
    "kube-apiserver": "KUBERNETES",
    "kube-controller-manager": "KUBERNETES",
    "kube-scheduler": "KUBERNETES",
    "kubectl": "KUBERNETES",
    "gitea": "GITEA",
    "sops": "SOPS",
    "age": "AGE",
    "age-keygen": "AGE",
}


@cache
def pins() -> dict[str, str]:
    """The pinned versions, e.g. ``{"HELM": "v4.3.1", ...}``."""
    out: dict[str, str] = {}
    for raw in _PINS.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key.removesuffix("_VERSION")] = value
    return out


def cache_root() -> Path:
    env = os.environ.get("GITWARD_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "gitward"


@dataclass(frozen=True)
class PinnedBuild:
    name: str
    version: str

    @property
    def directory(self) -> Path:
        return cache_root() / "tools" / f"{self.name}-{self.version}"

    @property
    def failure_log(self) -> Path | None:
        """The build log when the last build of this pin failed, else ``None``."""
        marker = cache_root() / "tools" / f"{self.name}-{self.version}.failed"
        if marker.exists():
            return Path(marker.read_text().strip())
        return None


def pinned_build(tool: str) -> PinnedBuild:
    key = _PROVIDER[tool]
    return PinnedBuild(name=key.lower(), version=pins()[key])


def find_tool(tool: str) -> Path:
    """Path of ``tool``: ``$GITWARD_<TOOL>``, then the pinned cache, then ``PATH``."""
    env = os.environ.get("GITWARD_" + tool.upper().replace("-", "_"))
    if env:
        return Path(env)
    if tool in _PROVIDER:
        build = pinned_build(tool)
        candidate = build.directory / tool
        if candidate.exists():
            return candidate
        if build.failure_log is not None:
            raise ToolError(
                f"{tool}: the pinned build {build.name} {build.version} failed; "
                f"see {build.failure_log}"
            )
    found = shutil.which(tool)
    if found:
        return Path(found)
    raise ToolError(f"{tool}: not found; run tools/build.sh or put {tool} on PATH")
