"""helm lint + helm package on a copy: version, appVersion, image and annotations set."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from gitward.ci import passed
from gitward.ci.config import ImageValues
from gitward.ci.errors import CiInputError
from gitward.ci.packaging import (
    ImageRef,
    chart_key,
    lint_chart,
    linted_before,
    package_chart,
    package_prepared,
    placeholder_image,
    prepare_chart,
    prepared_chart,
)
from gitward.ci.versioning import CodeVersion

EXAMPLE = Path(__file__).parents[3] / "examples" / "code" / "hello" / "chart"
CODE = CodeVersion(
    commit="c" * 40, version="1.2.3-dev.4.gccccccc", commit_time="t", source="https://g.test/a"
)
IMAGE = ImageRef("r.test/hello", "1.2.3-dev.4.gccccccc", "sha256:" + "d" * 64)


def tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


def unpack(tgz: bytes) -> dict[str, str]:
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        return {
            m.name: (tar.extractfile(m) or io.BytesIO()).read().decode() for m in tar if m.isfile()
        }


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The lints these tests pass are remembered in their own cache, not the user's."""
    monkeypatch.setattr(passed, "cache_root", lambda: tmp_path / "cache")
    return tmp_path / "cache"


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE, tmp_path / "chart")
    return tmp_path / "chart"


def package(chart: Path) -> object:
    return package_chart(
        chart_dir=chart, label="chart", code=CODE, image=IMAGE, values=ImageValues()
    )


def test_the_package_carries_the_version_image_and_commit_and_the_source_is_untouched(
    chart: Path, tmp_path: Path
) -> None:
    before = tree_hash(chart)
    packaged = package_chart(
        chart_dir=chart,
        label="chart",
        code=CODE,
        image=IMAGE,
        values=ImageValues(),
        destination=tmp_path / "out",
    )
    assert tree_hash(chart) == before
    files = unpack(packaged.tgz)
    meta = yaml.safe_load(files["hello/Chart.yaml"])
    assert meta["version"] == meta["appVersion"] == CODE.version
    assert meta["annotations"]["gitward.io/commit"] == CODE.commit
    assert meta["annotations"]["gitward.io/image"] == str(IMAGE)
    values_text = files["hello/values.yaml"]
    values = yaml.safe_load(values_text)
    assert values["image"] == {
        "repository": "r.test/hello",
        "tag": CODE.version,
        "digest": IMAGE.digest,
    }
    assert "# gitward ci sets all three" in values_text  # comments kept
    assert packaged.path == tmp_path / "out" / f"hello-{CODE.version}.tgz"
    assert packaged.path.read_bytes() == packaged.tgz


def test_a_chart_that_fails_helm_lint_names_the_error(chart: Path) -> None:
    (chart / "templates" / "broken.yaml").write_text("kind: {{ .Values.nope.deeper }}\n")
    with pytest.raises(CiInputError, match=r"^chart: helm lint failed: \[ERROR\]") as err:
        package(chart)
    assert "gitward-chart-" not in str(err.value)  # the scratch copy is not named


def test_values_the_config_cannot_set_are_bad_input(chart: Path) -> None:
    (chart / "values.yaml").write_text("image: nginx:1.27\n")
    with pytest.raises(
        CiInputError,
        match=r"^chart/values.yaml: image is a str, not a mapping; .* image.repository",
    ):
        package(chart)


def test_a_chart_yaml_without_a_settable_version_is_bad_input(chart: Path) -> None:
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: hello\nversion: {a: 1}\n")
    with pytest.raises(CiInputError, match=r"^chart/Chart.yaml: version is not a scalar"):
        package(chart)


def test_no_chart_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(CiInputError, match=r"^chart/Chart.yaml: no chart at chart"):
        package(tmp_path / "chart")


def test_the_deploy_side_reads_the_commit_a_packaged_chart_was_built_from(chart: Path) -> None:
    from gitward.render.helm.output import _built_from
    from gitward.render.results import ChartDependency

    packaged = package_chart(
        chart_dir=chart, label="chart", code=CODE, image=IMAGE, values=ImageValues()
    )
    assert _built_from(packaged.tgz, "hello") == CODE.commit
    dep = ChartDependency("hello", "", CODE.version, "https://c.test", commit=CODE.commit)
    assert dep.label == f"hello@{CODE.version} (commit {CODE.commit[:12]})"
    assert ChartDependency.from_json(dep.to_json()) == dep


def test_a_chart_prepared_before_the_digest_is_known_is_packaged_with_the_real_one(
    chart: Path, tmp_path: Path
) -> None:
    stand_in = placeholder_image(IMAGE.repository, CODE)
    assert stand_in.digest != IMAGE.digest
    with prepared_chart(
        chart_dir=chart, label="chart", code=CODE, image=stand_in, values=ImageValues()
    ) as prepared:
        packaged = package_prepared(prepared, image=IMAGE, version=CODE.version)
    files = unpack(packaged.tgz)
    assert not any(stand_in.digest in text for text in files.values())
    assert yaml.safe_load(files["hello/values.yaml"])["image"]["digest"] == IMAGE.digest
    meta = yaml.safe_load(files["hello/Chart.yaml"])
    assert meta["annotations"]["gitward.io/image"] == str(IMAGE)
    assert packaged.metadata["annotations"]["gitward.io/image"] == str(IMAGE)
    # The stand-in is the same for every run on this commit: the linted copy is found again.
    assert placeholder_image(IMAGE.repository, CODE) == stand_in


def test_a_lint_that_passed_is_remembered_until_the_chart_changes(chart: Path) -> None:
    def lint() -> bool:
        with prepared_chart(
            chart_dir=chart, label="chart", code=CODE, image=IMAGE, values=ImageValues()
        ) as prepared:
            return lint_chart(prepared)

    assert lint() is True
    assert lint() is False
    (chart / "templates" / "extra.yaml").write_text("kind: ConfigMap\n")
    assert lint() is True
    (chart / "templates" / "extra.yaml").write_text("kind: {{ .Values.nope.deeper }}\n")
    with pytest.raises(CiInputError, match="helm lint failed"):
        lint()
    with pytest.raises(CiInputError, match="helm lint failed"):
        lint()  # a failure is never remembered


def test_a_chart_that_passed_lint_is_prepared_again_from_the_linted_copy(chart: Path) -> None:
    def prepare(tmp: Path, code: CodeVersion = CODE) -> tuple[str, dict[str, object], bool, bool]:
        image = placeholder_image(IMAGE.repository, code)
        key = chart_key(
            chart_dir=chart, label="chart", code=code, image=image, values=ImageValues()
        )
        before = linted_before(key)
        tmp.mkdir()
        prepared = prepare_chart(
            into=tmp, chart_dir=chart, label="chart", code=code, image=image, values=ImageValues()
        )
        assert lint_chart(prepared) is not prepared.linted
        return tree_hash(prepared.directory), prepared.metadata, before, prepared.linted

    first = prepare(chart.parent / "first")
    again = prepare(chart.parent / "again")
    assert first[2:] == (False, False)
    assert again[2:] == (True, True)  # known before anything is prepared, and taken as linted
    assert again[:2] == first[:2]  # the same files, the same metadata
    # Another version of the same files is another chart: prepared and linted anew.
    other = replace(CODE, version="1.2.4", commit="e" * 40)
    assert prepare(chart.parent / "other", other)[2:] == (False, False)


def test_a_damaged_linted_copy_is_prepared_and_linted_anew(chart: Path, cache: Path) -> None:
    with prepared_chart(
        chart_dir=chart, label="chart", code=CODE, image=IMAGE, values=ImageValues()
    ) as prepared:
        assert lint_chart(prepared) is True
    (kept,) = (cache / "ci" / "passed").glob("*/*/metadata.json")
    kept.unlink()
    with prepared_chart(
        chart_dir=chart, label="chart", code=CODE, image=IMAGE, values=ImageValues()
    ) as again:
        assert not again.linted
        assert again.metadata["version"] == CODE.version
        assert lint_chart(again) is True
    with prepared_chart(
        chart_dir=chart, label="chart", code=CODE, image=IMAGE, values=ImageValues()
    ) as third:
        assert third.linted  # the pass is kept whole again


def test_only_the_newest_linted_copies_are_kept(
    chart: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(passed, "KEPT_AT_MOST", 2)
    for n in range(3):
        code = replace(CODE, version=f"1.2.{n}")
        with prepared_chart(
            chart_dir=chart, label="chart", code=code, image=IMAGE, values=ImageValues()
        ) as prepared:
            assert lint_chart(prepared) is True
    kept = [p.parent for p in (cache / "ci" / "passed").glob("*/*/metadata.json")]
    assert sorted(json.loads((k / "metadata.json").read_text())["version"] for k in kept) == [
        "1.2.1",
        "1.2.2",
    ]
