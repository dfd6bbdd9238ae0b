"""A promotion changes the one value it means; comments, order and quoting stay."""

from __future__ import annotations

import pytest

from gitward.promote.edits import (
    dependency_versions,
    image_tag,
    set_dependency_version,
    set_image_tag,
)
from gitward.promote.errors import PromoteInputError

REQUIREMENTS = """\
# what the shop runs
dependencies:
  - name: xposer   # the web front
    version: 1.3.0
    repository: oci://registry.example.com/charts
  - name: worker
    version: "1.3.0"
    repository: oci://registry.example.com/charts
  - {name: xposer, alias: admin, version: '1.3.0', repository: oci://registry.example.com/charts}
"""


def test_bumps_every_entry_of_the_chart_and_nothing_else() -> None:
    out = set_dependency_version(REQUIREMENTS, chart="xposer", version="1.4.0", subject="r.yaml")
    assert out == REQUIREMENTS.replace("version: 1.3.0", "version: 1.4.0").replace(
        "version: '1.3.0'", "version: '1.4.0'"
    )
    assert dependency_versions(out, chart="worker", subject="r.yaml") == ["1.3.0"]
    assert dependency_versions(out, chart="xposer", subject="r.yaml") == ["1.4.0", "1.4.0"]


def test_double_quoted_versions_stay_double_quoted() -> None:
    out = set_dependency_version(REQUIREMENTS, chart="worker", version="2.0.0", subject="r.yaml")
    assert 'version: "2.0.0"' in out
    assert out.count("1.3.0") == 2


def test_a_plain_version_that_would_read_as_a_number_is_quoted() -> None:
    text = "dependencies:\n  - name: a\n    version: 1.3.0\n    repository: x\n"
    out = set_dependency_version(text, chart="a", version="1.10", subject="r.yaml")
    assert 'version: "1.10"' in out


def test_a_chart_not_listed_changes_nothing() -> None:
    assert (
        set_dependency_version(REQUIREMENTS, chart="nope", version="9", subject="r") == REQUIREMENTS
    )
    assert dependency_versions(REQUIREMENTS, chart="nope", subject="r") == []


def test_an_entry_without_a_version_is_named() -> None:
    text = "dependencies:\n  - name: a\n    repository: x\n"
    with pytest.raises(PromoteInputError, match=r"r.yaml:2: dependency a has no version"):
        set_dependency_version(text, chart="a", version="1.0.0", subject="r.yaml")


def test_invalid_yaml_names_the_file() -> None:
    with pytest.raises(PromoteInputError, match=r"r\.yaml: not valid YAML"):
        set_dependency_version("a: [", chart="a", version="1", subject="r.yaml")


VALUES = """\
replicas: 2
image:
  repository: registry.example.com/xposer  # built by CI
  tag: "1.3.0"
"""


def test_sets_the_image_tag_in_place() -> None:
    assert image_tag(VALUES, subject="xposer.yaml") == "1.3.0"
    out = set_image_tag(VALUES, tag="1.4.0-abc", subject="xposer.yaml")
    assert out == VALUES.replace('"1.3.0"', '"1.4.0-abc"')


def test_a_values_file_without_an_image_tag_is_refused_with_the_fix() -> None:
    assert image_tag("replicas: 2\n", subject="x.yaml") is None
    with pytest.raises(PromoteInputError, match=r"x.yaml: has no image.tag to set"):
        set_image_tag("replicas: 2\n", tag="1", subject="x.yaml")
