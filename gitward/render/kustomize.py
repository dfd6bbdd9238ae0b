"""A kustomization directory -> objects, through ``kubectl kustomize``.

kustomize owns overlays, patches and generators; we only run it and parse
what it prints. It reads the checkout in place (it never writes), and a
kustomization may reach outside its own directory (``../base``), which is
why kustomize renders are not cached: the app directory alone does not
determine the result.

Every object's ``source`` is the kustomization directory itself (``.``,
relative to the app): kustomize does not say which file an object came from
unless the user asks for origin annotations.
"""

from __future__ import annotations

import re
from pathlib import Path

from gitward.errors import RenderError
from gitward.objects import Manifest
from gitward.render.documents import iter_documents, manifests_from
from gitward.render.running import first_error_line, run_tool
from gitward.tools import find_tool

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
DEFAULT_TIMEOUT = 120.0
SOURCE = "."

# kubectl >= 1.31 logs failures through klog: E1123 ... run.go:72] "command failed" err="..."
_KLOG_ERR = re.compile(r'"command failed" err="(?P<msg>(?:[^"\\]|\\.)*)"')


def render_kustomize(
    *, app_dir: Path, label: str, root: Path, timeout: float = DEFAULT_TIMEOUT
) -> list[Manifest]:
    """Objects ``kubectl kustomize app_dir`` prints; ``label`` names the app dir in errors."""
    kubectl = find_tool("kubectl")
    run = run_tool(
        [str(kubectl), "kustomize", str(app_dir)],
        what=f"{label}: kubectl kustomize",
        timeout=timeout,
        cwd=root,
    )
    if not run.ok:
        message = _kubectl_message(run.stderr or run.stdout)
        message = message.replace(f"{root.resolve()}/", "").replace(f"{root}/", "")
        raise RenderError(f"{label}: kustomize failed: {message}")
    return manifests_from(
        iter_documents(run.stdout, subject=f"{label} (kustomize output)"),
        subject=f"{label} (kustomize output)",
        source=SOURCE,
    )


def _kubectl_message(output: str) -> str:
    match = _KLOG_ERR.search(output)
    if match:
        return re.sub(r"\\(.)", r"\1", match.group("msg"))
    return first_error_line(output)
