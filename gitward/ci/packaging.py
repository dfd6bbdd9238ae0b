"""``gitward ci package``: ``helm lint`` and ``helm package`` with the version and image set.

The chart is copied to a scratch directory and only the copy is changed, so
the repository stays as it was: ``Chart.yaml`` gets the computed
``version`` and ``appVersion`` and annotations naming the commit, the
source and the image; ``values.yaml`` gets the image's repository, tag and
digest at the paths ``chart.imageValues`` names (comments and order kept).
"""

from __future__ import annotations

import io
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitward import repofiles
from gitward.ci.config import ImageValues
from gitward.ci.errors import CiInputError
from gitward.ci.versioning import CodeVersion
from gitward.programs import HELM, first_error_line, run_program
from gitward.tools import find_tool

if TYPE_CHECKING:
    from ruamel.yaml import YAML

# ruamel.yaml is imported where a chart is edited: a run that finds everything
# published never needs it, and importing it costs a tenth of such a run.

HELM_TIMEOUT = 120.0

COMMIT = "gitward.io/commit"
SOURCE = "gitward.io/source"
IMAGE = "gitward.io/image"


@dataclass(frozen=True)
class ImageRef:
    repository: str  # host/path/name
    tag: str
    digest: str  # sha256:…

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}@{self.digest}"


@dataclass(frozen=True)
class PackagedChart:
    name: str
    version: str
    tgz: bytes = field(repr=False)
    metadata: dict[str, Any] = field(repr=False)  # Chart.yaml as packaged
    path: Path | None = None  # where it was written, if asked to


def check_chart(
    *, chart_dir: Path, label: str, code: CodeVersion, image: ImageRef, values: ImageValues
) -> None:
    """Everything :func:`package_chart` checks, without packaging: run before any push,
    so a chart that cannot be published stops the run while nothing is pushed yet."""
    with tempfile.TemporaryDirectory(prefix="gitward-chart-") as tmp:
        copy, _ = _prepare(Path(tmp), chart_dir, label, code, image, values)
        _lint(copy, label)


def package_chart(
    *,
    chart_dir: Path,
    label: str,
    code: CodeVersion,
    image: ImageRef,
    values: ImageValues,
    destination: Path | None = None,
    lint: bool = True,
) -> PackagedChart:
    """Lint and package ``chart_dir`` (``label`` in messages); write it to ``destination`` too.

    ``lint=False`` when :func:`check_chart` already linted this chart in this run.
    """
    helm = str(find_tool("helm"))
    with tempfile.TemporaryDirectory(prefix="gitward-chart-") as tmp:
        copy, metadata = _prepare(Path(tmp), chart_dir, label, code, image, values)
        if lint:
            _lint(copy, label)
        out = Path(tmp) / "out"
        out.mkdir()
        packaged = run_program(
            HELM,
            [helm, "package", str(copy), "--destination", str(out)],
            what=f"{label}: helm package",
            timeout=HELM_TIMEOUT,
        )
        found = sorted(out.glob("*.tgz"))
        if not packaged.ok or not found:
            reason = first_error_line(packaged.err or packaged.out).replace(str(copy), label)
            raise CiInputError(f"{label}: helm package failed: {reason}")
        tgz = found[0].read_bytes()
        written = None
        if destination is not None:
            destination.mkdir(parents=True, exist_ok=True)
            written = destination / found[0].name
            written.write_bytes(tgz)
    return PackagedChart(
        name=str(metadata["name"]),
        version=code.version,
        tgz=tgz,
        metadata=metadata,
        path=written,
    )


def _prepare(
    tmp: Path,
    chart_dir: Path,
    label: str,
    code: CodeVersion,
    image: ImageRef,
    values: ImageValues,
) -> tuple[Path, dict[str, Any]]:
    """A copy of the chart in ``tmp`` with version, annotations and image set."""
    if not (chart_dir / "Chart.yaml").is_file():
        raise CiInputError(f"{label}/Chart.yaml: no chart at {label} (chart.path)")
    repofiles.check_tree(chart_dir, root=repofiles.real(chart_dir), label=label, error=CiInputError)
    copy = tmp / "chart"
    shutil.copytree(chart_dir, copy, symlinks=False)
    metadata = _edit_chart_yaml(copy / "Chart.yaml", label=label, code=code, image=image)
    _edit_values(copy / "values.yaml", label=label, image=image, paths=values)
    return copy, metadata


def _lint(copy: Path, label: str) -> None:
    helm = str(find_tool("helm"))
    run = run_program(
        HELM, [helm, "lint", str(copy)], what=f"{label}: helm lint", timeout=HELM_TIMEOUT
    )
    if not run.ok:
        raise CiInputError(
            f"{label}: helm lint failed: {_lint_reason(run.out + run.err, copy, label)}"
        )


def _yaml() -> YAML:
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    return y


def _load(path: Path, label: str) -> Any:
    from ruamel.yaml.error import YAMLError

    try:
        return _yaml().load(path.read_text())
    except YAMLError as e:
        raise CiInputError(f"{label}: not valid YAML: {str(e).splitlines()[0]}") from e


def _dump(path: Path, doc: Any) -> None:
    buf = io.StringIO()
    _yaml().dump(doc, buf)
    path.write_text(buf.getvalue())


def _edit_chart_yaml(
    path: Path, *, label: str, code: CodeVersion, image: ImageRef
) -> dict[str, Any]:
    from ruamel.yaml.comments import CommentedMap

    where = f"{label}/Chart.yaml"
    doc = _load(path, where)
    if not isinstance(doc, dict) or not doc.get("name"):
        raise CiInputError(f"{where}: not a chart's metadata (a mapping with a name)")
    if doc.get("type") == "library":
        raise CiInputError(f"{where}: a library chart cannot be versioned with an image")
    if "version" in doc and not isinstance(doc["version"], str | int | float):
        raise CiInputError(f"{where}: version is not a scalar; gitward ci cannot set it")
    doc["version"] = code.version
    doc["appVersion"] = code.version
    notes = doc.get("annotations")
    if notes is None:
        notes = doc["annotations"] = CommentedMap()
    if not isinstance(notes, dict):
        raise CiInputError(f"{where}: annotations is not a mapping; gitward ci cannot add to it")
    notes[COMMIT] = code.commit
    notes[SOURCE] = code.source
    notes[IMAGE] = str(image)
    _dump(path, doc)
    plain: dict[str, Any] = _plain(doc)
    return plain


def _edit_values(path: Path, *, label: str, image: ImageRef, paths: ImageValues) -> None:
    wanted = [
        (p, v)
        for p, v in (
            (paths.repository, image.repository),
            (paths.tag, image.tag),
            (paths.digest, image.digest),
        )
        if p
    ]
    if not wanted:
        return
    from ruamel.yaml.comments import CommentedMap

    where = f"{label}/values.yaml"
    doc = _load(path, where) if path.exists() else None
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, dict):
        raise CiInputError(f"{where}: not a mapping; gitward ci cannot set the image in it")
    for dotted, value in wanted:
        node: Any = doc
        keys = dotted.split(".")
        for i, key in enumerate(keys[:-1]):
            child = node.get(key)
            if child is None:
                child = node[key] = CommentedMap()
            if not isinstance(child, dict):
                at = ".".join(keys[: i + 1])
                raise CiInputError(
                    f"{where}: {at} is a {type(child).__name__}, not a mapping; gitward ci "
                    f"cannot set {dotted} (chart.imageValues in gitward-ci.yaml)"
                )
            node = child
        if isinstance(node.get(keys[-1]), dict | list):
            raise CiInputError(
                f"{where}: {dotted} is a {type(node[keys[-1]]).__name__}; gitward ci can only "
                "set a scalar there (chart.imageValues in gitward-ci.yaml)"
            )
        node[keys[-1]] = value
    _dump(path, doc)


def _plain(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {str(k): _plain(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_plain(v) for v in doc]
    if isinstance(doc, bool | int | float) or doc is None:
        return doc
    return str(doc)


def _lint_reason(output: str, copy: Path, label: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("[ERROR]")]
    chosen = errors[0] if errors else first_error_line(output)
    return chosen.replace(str(copy), label)
