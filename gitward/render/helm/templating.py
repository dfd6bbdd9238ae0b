"""One helm render: check the chart, build its dependencies, template it with its values.

Values, lowest precedence first: the chart's ``values.yaml`` (helm reads
it), one generated ``{<alias or name>: <content of that file>}`` values file
per subchart in dependency order, then the app's ``valuesFiles``.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitward import repofiles
from gitward.errors import RenderError
from gitward.objects import Manifest
from gitward.render.decrypting import Decryptor, is_encrypted, plaintext_scratch
from gitward.render.directory import read_text
from gitward.render.documents import load_single
from gitward.render.helm import binary
from gitward.render.helm.binary import (
    DEFAULT_TIMEOUT,
    helm_env,
    helm_home,
    helm_path,
    plain_http,
    repositories_yaml,
)
from gitward.render.helm.charts import UmbrellaChart, check_lock
from gitward.render.helm.dependencies import build_dependencies
from gitward.render.helm.diagnostics import template_error
from gitward.render.helm.output import built_charts, parse_template_output
from gitward.render.helm.paths import local_chart_dirs, mirror, rel, values_file_paths
from gitward.render.results import ChartDependency


@dataclass(frozen=True)
class HelmRender:
    manifests: list[Manifest]
    charts: list[ChartDependency]


def render_helm(
    *,
    chart: UmbrellaChart,
    root: Path,
    release: str,
    namespace: str,
    values_files: tuple[str, ...],
    timeout: float = DEFAULT_TIMEOUT,
    decryptor: Decryptor | None = None,
) -> HelmRender:
    """Build the umbrella chart's dependencies in scratch space and template it.

    SOPS-encrypted values files are decrypted with ``decryptor``; helm reads
    their plaintext from a :func:`plaintext_scratch` directory that is gone
    when this returns.
    """
    decryptor = decryptor or Decryptor(None)
    check_lock(chart)
    root = repofiles.real(root)
    # The whole app dir is copied for helm, which may read any file of it.
    repofiles.check_tree(chart.app_dir, root=root, label=chart.label, error=RenderError)
    local_dirs = local_chart_dirs(chart, root=root)
    extra_values = values_file_paths(values_files, app_dir=chart.app_dir, root=root)
    # path -> its plaintext, for the values files that were encrypted
    plain: dict[Path, str] = {}
    for path in [chart.app_dir / "values.yaml", *extra_values]:
        if path.is_file():
            _values_mapping(
                path, root=root, subject=rel(path, root), what="values", decryptor=decryptor,
                plain=plain,
            )  # fmt: skip
    per_chart = _per_chart_values(chart, root=root, decryptor=decryptor, plain=plain)
    use_plain_http = plain_http(chart)
    helm = helm_path()
    home = helm_home()
    home.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gitward-helm-")))
        # Values that hold plaintext (their file was encrypted) go to memory.
        values_dir = stack.enter_context(plaintext_scratch()) if plain else scratch / "values"
        values_dir.mkdir(exist_ok=True)
        chart_dir = mirror(chart, local_dirs, root=root, into=scratch / "tree")
        repo_config = scratch / "repositories.yaml"
        repo_config.write_text(repositories_yaml(chart.dependencies))
        env = helm_env(repository_config=repo_config)
        if chart.dependencies:
            build_dependencies(
                chart,
                chart_dir=chart_dir,
                helm=helm,
                env=env,
                plain=use_plain_http,
                local_dirs=local_dirs,
                timeout=timeout,
            )
        args = [helm, "template", release, str(chart_dir), "--namespace", namespace]
        args.append("--include-crds")
        own_values = chart.app_dir / "values.yaml"
        if own_values in plain:
            # helm would read the ciphertext as the chart's defaults: it gets the plaintext
            # as the lowest of the values files instead.
            (chart_dir / "values.yaml").write_text("{}\n")
            args += ["--values", _plaintext_file(values_dir, 0, own_values, plain)]
        for index, (key, content) in enumerate(per_chart):
            path = values_dir / f"{index:03d}-{key}.yaml"
            path.write_text(json.dumps({key: content}, indent=1) + "\n")
            args += ["--values", str(path)]
        for index, path in enumerate(extra_values, start=1):
            if path in plain:
                args += ["--values", _plaintext_file(values_dir, index, path, plain)]
            else:
                args += ["--values", str(path)]
        run = binary.run_helm(
            args, what=f"chart {chart.name}: helm template", timeout=timeout, env=env
        )
        if not run.ok:
            raise template_error(chart, run)
        manifests = parse_template_output(run.out, label=chart.label)
        charts = built_charts(chart, chart_dir)
    return HelmRender(manifests=manifests, charts=charts)


def _plaintext_file(directory: Path, index: int, source: Path, plain: dict[Path, str]) -> str:
    path = directory / f"plain-{index:03d}-{source.name}"
    path.write_text(plain[source])
    path.chmod(0o600)
    return str(path)


# Files a chart already gives a meaning to; a subchart with such a key gets no values file.
_RESERVED_STEMS = frozenset({"values", "Chart", "requirements"})


def _per_chart_values(
    chart: UmbrellaChart, *, root: Path, decryptor: Decryptor, plain: dict[Path, str]
) -> list[tuple[str, dict[str, Any]]]:
    """``(key, content)`` of each subchart's values file, in dependency order."""
    out: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for dep in chart.dependencies:
        key = dep.key
        if key in seen or key in _RESERVED_STEMS:
            continue
        seen.add(key)
        path = chart.app_dir / f"{key}.yaml"
        if not path.is_file():
            continue
        content = _values_mapping(
            path,
            root=root,
            subject=chart.where(path.name),
            what=f"values for chart {key}",
            decryptor=decryptor,
            plain=plain,
        )
        if content is not None:
            out.append((key, content))
    return out


def _values_mapping(
    path: Path,
    *,
    root: Path,
    subject: str,
    what: str,
    decryptor: Decryptor,
    plain: dict[Path, str],
) -> dict[str, Any] | None:
    """A values file's content: a mapping, or ``None`` when empty; errors carry file:line.

    An encrypted file is decrypted, and its plaintext kept in ``plain``.
    """
    text = read_text(path, root=root, subject=subject)
    if is_encrypted(text):
        text = plain[path] = decryptor.decrypt(path, subject=subject)
    content = load_single(text, subject=subject)
    if content is None or isinstance(content, dict):
        return content
    raise RenderError(f"{subject}:1: {what} must be a mapping, not a {type(content).__name__}")
