"""gitward-ci.yaml: every setting defaulted, errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.ci import passed
from gitward.ci.config import (
    CiConfig,
    ImageValues,
    Promotion,
    expand,
    load_ci_config,
    parse_ci_config,
)
from gitward.ci.errors import CiInputError
from gitward.ci.targets import resolve
from gitward.config import validating
from gitward.errors import ConfigError


def test_a_repository_without_the_file_gets_every_default(tmp_path: Path) -> None:
    config = load_ci_config(tmp_path)
    assert config == CiConfig()
    assert (config.dockerfile, config.context, config.chart_path) == ("Dockerfile", ".", "chart")
    assert config.image_values == ImageValues("image.repository", "image.tag", "image.digest")


def test_an_empty_file_is_every_default() -> None:
    assert parse_ci_config("") == CiConfig(source_file="gitward-ci.yaml")


def test_settings_are_read() -> None:
    config = parse_ci_config(
        "image:\n  name: shop/web\n  registry: r.test:5000/team\n  dockerfile: build/Dockerfile\n"
        "  buildArgs: {A: '1'}\nchart:\n  path: deploy/chart/\n  imageValues: {digest: ''}\n"
        "publish:\n  oci: oci://r.test:5000/charts\n  chartRepository: https://c.test/x\n"
        "promotion: {repo: https://git.test/config, imageTag: web.image.tag}\n"
    )
    assert config.image_name == "shop/web"
    assert config.build_args == (("A", "1"),)
    assert config.chart_path == "deploy/chart"
    assert config.image_values.digest == "" and config.image_values.tag == "image.tag"
    assert config.oci == "oci://r.test:5000/charts"
    assert config.promotion == Promotion(
        repo="https://git.test/config", base="main", chart="", image_tag="web.image.tag"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("image:\n  name: web\n  dockerfil: x\n", r"^gitward-ci.yaml:3: image: Additional"),
        ("image:\n  name: Web\n", r"^gitward-ci.yaml:2: image.name: 'Web' does not match"),
        (
            "chart:\n  path: c\n  imageValues:\n    tag: 'a..b'\n",
            r"^gitward-ci.yaml:4: chart.imageV",
        ),
        ("promotion:\n  base: main\n", r"^gitward-ci.yaml:2: promotion: 'repo' is a required"),
        ("promotion:\n  repo: x\n  app: web\n", r"^gitward-ci.yaml:3: promotion: Additional"),
        ("promotion:\n  repo: x\n  imageTag: a..b\n", r"^gitward-ci.yaml:3: promotion.imageT"),
        ("image: {name: a}\nimage: {name: b}\n", r"gitward-ci.yaml:2: .*duplicate"),
    ],
)
def test_errors_name_the_file_and_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        parse_ci_config(text)


def test_a_file_checked_once_reads_the_same_the_second_time_without_the_validator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(passed, "cache_root", lambda: tmp_path / "cache")
    text = "image:\n  name: web\n  buildArgs: {A: '1'}\nchart: {path: deploy}\n"
    first = parse_ci_config(text)
    monkeypatch.setattr(validating, "check_schema", None)  # would fail if called
    assert parse_ci_config(text) == first
    with pytest.raises(TypeError):  # another text is checked, not taken on trust
        parse_ci_config(text + "publish: {oci: ''}\n")


def test_build_args_take_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASE", "r.test/base:1")
    monkeypatch.delenv("NOPE", raising=False)
    assert expand("${BASE}", subject="s") == "r.test/base:1"
    assert expand("${NOPE:-python:3}", subject="s") == "python:3"
    with pytest.raises(ConfigError, match=r"^s: \$\{NOPE\} is not set"):
        expand("${NOPE}", subject="s")


def test_defaults_resolve_against_the_repository_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITWARD_REGISTRY", "127.0.0.1:5000")
    monkeypatch.delenv("GITWARD_CHART_REPO", raising=False)
    (tmp_path / "chart").mkdir()
    (tmp_path / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: Hello_App\nversion: 0\n")
    targets = resolve(tmp_path, CiConfig(), extra_build_args=("X=1",))
    assert targets.image_name == "hello-app"
    assert str(targets.image) == "127.0.0.1:5000/hello-app"
    assert str(targets.oci) == "127.0.0.1:5000/charts"
    assert targets.chart_repository == ""
    assert targets.build_args == (("X", "1"),)


def test_a_dockerfile_path_that_leads_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    with pytest.raises(CiInputError, match="leads outside the repository"):
        resolve(tmp_path / "repo", CiConfig(dockerfile="../Dockerfile"))
