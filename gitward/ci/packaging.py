"""``gitward ci package``: ``helm lint`` and ``helm package`` with the version and image set.

The chart is copied to a scratch directory and only the copy is changed, so
the repository stays as it was: ``Chart.yaml`` gets the computed
``version`` and ``appVersion`` and annotations naming the commit, the
source and the image; ``values.yaml`` gets the image's repository, tag and
digest at the paths ``chart.imageValues`` names (comments and order kept).

The copy is prepared once per run, before the image's digest is known, with
a placeholder digest: it is linted then (beside the image build, or before
any push), and once the image is pushed only the placeholder is swapped for
the real digest before ``helm package``. A lint that passed is remembered
(:mod:`gitward.ci.passed`) by a digest of everything the copy is made from
(the chart's files, the version, the image, the helm binary and this
module), together with the copy itself: so the ``publish`` after a
``build`` knows before preparing anything that the chart passed, and it
takes the linted copy instead of editing YAML again.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitward import repofiles
from gitward.ci import passed
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
_PREPARED = "linted-chart"


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


@dataclass(frozen=True)
class PreparedChart:
    """A scratch copy of the chart with the version, annotations and an image set."""

    directory: Path
    label: str
    metadata: dict[str, Any] = field(repr=False)  # Chart.yaml as written
    image: ImageRef  # the image written into it
    key: str  # what it is made from (:func:`chart_key`)
    linted: bool = False  # a copy of one that passed helm lint


def placeholder_image(repository: str, code: CodeVersion) -> ImageRef:
    """The image as a chart is linted before its digest is known.

    The digest is made from the commit, not left blank, so that the copy
    linted beside the build is byte for byte the one ``gitward ci publish``
    prepares (and finds linted), and so that it is nothing a chart could
    already hold; nothing in a lint depends on its value.
    """
    seed = f"gitward ci: image digest to come for {code.commit} {code.version}".encode()
    return ImageRef(repository, code.version, "sha256:" + hashlib.sha256(seed).hexdigest())


def chart_key(
    *, chart_dir: Path, label: str, code: CodeVersion, image: ImageRef, values: ImageValues
) -> str:
    """A digest of everything the prepared copy of ``chart_dir`` and its lint depend on.

    Raises :class:`CiInputError` when there is no chart, or a link in it leads
    out of it (which the copy would follow).
    """
    if not (chart_dir / "Chart.yaml").is_file():
        raise CiInputError(f"{label}/Chart.yaml: no chart at {label} (chart.path)")
    facts = (label, code.commit, code.version, code.commit_time, code.source, str(image))
    parts = [
        *passed.tool_parts(find_tool("helm")),
        _preparation(),
        repr(values).encode(),
        *(fact.encode() for fact in facts),
    ]
    root = repofiles.real(chart_dir)
    for rel in repofiles.walk(chart_dir, root=root, label=label, error=CiInputError):
        parts += [rel.as_posix().encode(), (chart_dir / rel).read_bytes()]
    return passed.digest_of(parts)


def linted_before(key: str) -> bool:
    """Whether the chart :func:`chart_key` named ``key`` passed ``helm lint`` before."""
    return passed.kept(_PREPARED, key) is not None


@cache
def _preparation() -> bytes:
    # How a chart is prepared is this module's code: a pass remembered by
    # another version of it is not trusted.
    return Path(__file__).read_bytes()


def prepare_chart(
    *,
    into: Path,
    chart_dir: Path,
    label: str,
    code: CodeVersion,
    image: ImageRef,
    values: ImageValues,
    key: str = "",
) -> PreparedChart:
    """A copy of ``chart_dir`` (``label`` in messages) in the scratch directory ``into``;
    the copy kept by an earlier lint when this chart passed one (``key``: its
    :func:`chart_key`, if known)."""
    key = key or chart_key(chart_dir=chart_dir, label=label, code=code, image=image, values=values)
    copy = into / "chart"
    found = passed.kept(_PREPARED, key)
    if found is not None:
        try:
            shutil.copytree(found / "chart", copy)
            metadata = json.loads((found / "metadata.json").read_text())
        except (OSError, ValueError):
            shutil.rmtree(copy, ignore_errors=True)  # prepared and linted again below
            passed.forget(_PREPARED, key)
        else:
            return PreparedChart(
                directory=copy, label=label, metadata=metadata, image=image, key=key, linted=True
            )
    shutil.copytree(chart_dir, copy, symlinks=False)
    metadata = _edit_chart_yaml(copy / "Chart.yaml", label=label, code=code, image=image)
    _edit_values(copy / "values.yaml", label=label, image=image, paths=values)
    return PreparedChart(directory=copy, label=label, metadata=metadata, image=image, key=key)


@contextmanager
def prepared_chart(
    *, chart_dir: Path, label: str, code: CodeVersion, image: ImageRef, values: ImageValues
) -> Iterator[PreparedChart]:
    """:func:`prepare_chart` in a scratch directory of its own, removed after."""
    with tempfile.TemporaryDirectory(prefix="gitward-chart-") as tmp:
        yield prepare_chart(
            into=Path(tmp), chart_dir=chart_dir, label=label, code=code, image=image, values=values
        )


def lint_chart(chart: PreparedChart) -> bool:
    """``helm lint`` the prepared chart; ``False`` when this very chart already passed."""
    if chart.linted:
        return False
    run = run_program(
        HELM,
        [str(find_tool("helm")), "lint", str(chart.directory)],
        what=f"{chart.label}: helm lint",
        timeout=HELM_TIMEOUT,
    )
    if not run.ok:
        reason = _lint_reason(run.out + run.err, chart.directory, chart.label)
        raise CiInputError(f"{chart.label}: helm lint failed: {reason}")

    def fill(kept: Path) -> None:
        shutil.copytree(chart.directory, kept / "chart")
        (kept / "metadata.json").write_text(json.dumps(chart.metadata))

    passed.keep(_PREPARED, chart.key, fill)
    return True


def package_prepared(
    chart: PreparedChart, *, image: ImageRef, version: str, destination: Path | None = None
) -> PackagedChart:
    """``helm package`` the prepared chart with ``image`` in place of the one it was
    prepared with (the same repository and tag; only the digest is learnt later).
    Once per prepared chart: its files are edited in place."""
    if (image.repository, image.tag) != (chart.image.repository, chart.image.tag):
        raise ValueError(f"{chart.label}: prepared for {chart.image}, not {image}")
    metadata = chart.metadata
    if image != chart.image:
        # Only the two files gitward wrote hold the placeholder, and only where it wrote it.
        old, new = chart.image.digest, image.digest
        for name in ("Chart.yaml", "values.yaml"):
            path = chart.directory / name
            if path.is_file():
                path.write_text(path.read_text().replace(old, new))
        metadata = _replaced(metadata, old, new)
    helm = str(find_tool("helm"))
    out = chart.directory.parent / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    packaged = run_program(
        HELM,
        [helm, "package", str(chart.directory), "--destination", str(out)],
        what=f"{chart.label}: helm package",
        timeout=HELM_TIMEOUT,
    )
    found = sorted(out.glob("*.tgz"))
    if not packaged.ok or not found:
        reason = first_error_line(packaged.err or packaged.out).replace(
            str(chart.directory), chart.label
        )
        raise CiInputError(f"{chart.label}: helm package failed: {reason}")
    tgz = found[0].read_bytes()
    written = None
    if destination is not None:
        destination.mkdir(parents=True, exist_ok=True)
        written = destination / found[0].name
        written.write_bytes(tgz)
    return PackagedChart(
        name=str(metadata["name"]), version=version, tgz=tgz, metadata=metadata, path=written
    )


def package_chart(
    *,
    chart_dir: Path,
    label: str,
    code: CodeVersion,
    image: ImageRef,
    values: ImageValues,
    destination: Path | None = None,
) -> PackagedChart:
    """Lint and package ``chart_dir`` (``label`` in messages); write it to ``destination`` too."""
    with prepared_chart(
        chart_dir=chart_dir, label=label, code=code, image=image, values=values
    ) as chart:
        lint_chart(chart)
        return package_prepared(chart, image=image, version=code.version, destination=destination)


def _replaced(doc: Any, old: str, new: str) -> Any:
    if isinstance(doc, dict):
        return {k: _replaced(v, old, new) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_replaced(v, old, new) for v in doc]
    return doc.replace(old, new) if isinstance(doc, str) else doc


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
